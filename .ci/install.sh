#!/usr/bin/env bash
# Install tts_nb for development on a fresh machine: the package (editable) with every extra its notebooks and
# tests need, the embedded model, and bubblewrap for the code sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
# llama-cpp-python's native build segfaults on AMX CPUs; this portable build does not (DESIGN.md §3).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
# functioncall compiles C++ with g++ and sandboxes it with bubblewrap.
if { ! command -v bwrap || ! command -v g++; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap g++ >/dev/null; } \
    || echo "warning: could not install bubblewrap/g++; functioncall falls back to weaker isolation" >&2
fi
python -m pip install -q --disable-pip-version-check -e ".[dev]"
python -m ipykernel install --sys-prefix --name python3 >/dev/null

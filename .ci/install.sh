#!/usr/bin/env bash
# Install tts_nb for development on a fresh machine: the package (editable) with every extra its notebooks and
# tests need, the embedded model, bubblewrap for the code sandbox, and Chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# llama-cpp-python's native build segfaults on AMX CPUs; this portable build does not (nbs/architecture.ipynb, "The embedded model").
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
# System packages, each only when missing: functioncall compiles C++ with g++ and sandboxes it with bubblewrap;
# tests/test_browser.py drives Debian's chromium through Playwright (pip), so no browser is downloaded.
need=()
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  as_root=(); [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  { "${as_root[@]}" apt-get update -qq \
      && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } \
    || echo "warning: could not install ${need[*]}: functioncall falls back to weaker isolation and the browser" \
            "tests are skipped (they fail under CI)" >&2
fi
python -m pip install -q --disable-pip-version-check -e ".[dev]"
python -m ipykernel install --sys-prefix --name python3 >/dev/null

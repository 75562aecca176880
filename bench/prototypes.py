"""Prototype of the one proposed performance fix not (yet) in the library, applied by monkeypatching so that one
benchmark run measures the library as it is ("stock") and with the fix ("fixed+lean") side by side.
F1-F5 and F7 of bench/RESULTS.md have been applied to the notebooks (nbs/00_llm, 03_judges, 06_pipeline).

    with fixes("lean_transport"): ...
"""
from __future__ import annotations
import contextlib
import tts_nb.llm as L

# F6 -------------------------------------------------------------------------------------------------------------
def _lean_transport():
    from bench.lean_transport import LeanTransport
    return LeanTransport

# ----------------------------------------------------------------------------------------------------------------
FIXES = {"lean_transport": [(L, "HTTPTransport", _lean_transport)]}

@contextlib.contextmanager
def fixes(*names):
    "Apply the named prototype fixes (keys of FIXES) for the duration of the block."
    saved = []
    try:
        for name in names:
            for owner, attr, make in FIXES[name]:
                saved.append((owner, attr, owner.__dict__.get(attr, _MISSING)))
                setattr(owner, attr, make())
        yield
    finally:
        for owner, attr, old in reversed(saved):
            if old is _MISSING: delattr(owner, attr)
            else: setattr(owner, attr, old)

_MISSING = object()

"""LiveCodeBench Pro test bundles (see nbs/architecture.ipynb, "LiveCodeBench Pro test bundles"): `config.yaml` + `testdata/` + checker/interactor sources."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["Bundle", "BundleError", "read_bundle", "parse_time_limit", "parse_memory_limit"]

CHECKER_NAMES = ("chk.cc", "checker.cpp", "checker.cc", "chk.cpp")
INTERACTOR_NAMES = ("interactor.cpp", "interactor.cc", "interactor.cxx")


class BundleError(ValueError):
    """A problem directory that does not follow the bundle layout."""


@dataclass
class Bundle:
    "A parsed problem directory: limits, checker, interactor and the ordered test files."
    problem_dir: Path
    type: str                                   # "default" | "interactive"
    time_limit: float                           # seconds
    memory_limit_mb: int
    checker: Path | None                        # checker source, or None for token comparison
    interactor: Path | None                     # interactor source (interactive problems)
    tests: list[tuple[Path, Path]]              # (input, answer) per test, in judging order
    case_limits: list[tuple[float, int]] = field(default_factory=list)  # (time_limit, memory_limit_mb) per test

    @property
    def testdata(self) -> Path: return self.problem_dir / "testdata"


_TIME = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|sec|secs|seconds?)?\s*$", re.I)
_MEM = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(i?b)?\s*$", re.I)


def parse_time_limit(value) -> float:
    "Seconds from `1s`, `500ms`, `2` (bare = seconds) or a number."
    if isinstance(value, bool): raise BundleError(f"bad time_limit {value!r}")
    if isinstance(value, (int, float)): return float(value)
    m = _TIME.match(str(value))
    if not m: raise BundleError(f"bad time_limit {value!r} (expected e.g. 1s, 500ms, 2)")
    n = float(m.group(1))
    return n / 1000 if (m.group(2) or "").lower() == "ms" else n


def parse_memory_limit(value) -> int:
    "MiB from `256m`, `1g`, `262144k`, `256MB` or a bare number of MiB."
    if isinstance(value, bool): raise BundleError(f"bad memory_limit {value!r}")
    if isinstance(value, (int, float)): return int(value)
    m = _MEM.match(str(value))
    if not m: raise BundleError(f"bad memory_limit {value!r} (expected e.g. 256m, 1g, 262144k)")
    scale = {"": 1, "k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}[m.group(2).lower()]
    return max(1, int(round(float(m.group(1)) * scale)))


def _confined(problem_dir: Path, p: Path, what) -> Path:
    "`p`, refused when it (or a symlink on its way) leads outside the problem directory."
    root = problem_dir.resolve()
    real = p.resolve()
    if real != root and root not in real.parents:
        raise BundleError(f"{problem_dir}: {what} {str(p.relative_to(problem_dir)) if p.is_relative_to(problem_dir) else str(p)!r} "
                          "lies outside the problem directory")
    return p


def _find(problem_dir: Path, name, defaults, what) -> Path | None:
    "The file named in the config, else the first default name present; either must lie inside the bundle."
    if name:
        n = str(name)
        if os.path.isabs(n) or ".." in Path(n).parts or "\0" in n:
            raise BundleError(f"{problem_dir}: {what} {n!r} must be a relative path inside the problem directory")
        p = _confined(problem_dir, problem_dir / n, what)
        if not p.is_file(): raise BundleError(f"{problem_dir}: {what} {name!r} not found")
        return p
    p = next((problem_dir / n for n in defaults if (problem_dir / n).is_file()), None)
    return _confined(problem_dir, p, what) if p is not None else None


def _numbered_cases(cfg, problem_dir: Path):
    "Yields (input_name, answer_name, subtask) for every case of every subtask."
    pre_in, suf_in = cfg.get("input_prefix", "") or "", cfg.get("input_suffix", ".in") or ".in"
    pre_out, suf_out = cfg.get("output_prefix", "") or "", cfg.get("output_suffix", ".ans") or ".ans"
    subtasks = cfg.get("subtasks")
    if not subtasks:
        yield from ((a, b, {}) for a, b in _discover(problem_dir / "testdata", suf_in, suf_out))
        return
    if not isinstance(subtasks, list): raise BundleError(f"{problem_dir}: subtasks must be a list")
    k = 0
    for st in subtasks:
        if not isinstance(st, dict): raise BundleError(f"{problem_dir}: each subtask must be a mapping")
        if st.get("cases"):
            for c in st["cases"]:
                if not isinstance(c, dict) or "input" not in c or "output" not in c:
                    raise BundleError(f"{problem_dir}: each case needs input and output, got {c!r}")
                yield str(c["input"]), str(c["output"]), st
        else:
            n = st.get("n_cases", st.get("cases_count"))
            if not isinstance(n, int) or n < 0: raise BundleError(f"{problem_dir}: subtask needs cases or n_cases: {st!r}")
            for _ in range(n):
                k += 1
                yield f"{pre_in}{k}{suf_in}", f"{pre_out}{k}{suf_out}", st


def _discover(testdata: Path, suf_in, suf_out):
    "Cases found on disk when the config lists none: numeric order of `*.in` with a matching answer."
    if not testdata.is_dir(): raise BundleError(f"{testdata} does not exist")
    def key(p): return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)
    for inp in sorted(testdata.glob(f"*{suf_in}"), key=key):
        stem = inp.name[: -len(suf_in)]
        ans = next((testdata / (stem + s) for s in (suf_out, ".out", ".a") if (testdata / (stem + s)).is_file()), None)
        if ans is None: raise BundleError(f"{inp}: no answer file ({stem}{suf_out})")
        yield inp.name, ans.name


def read_bundle(problem_dir) -> Bundle:
    "Parse a problem directory laid out as in nbs/architecture.ipynb ('LiveCodeBench Pro test bundles')."
    d = Path(problem_dir)
    cfg_path = next((d / n for n in ("config.yaml", "config.yml") if (d / n).is_file()), None)
    if cfg_path is None: raise BundleError(f"{d}: no config.yaml")
    try: cfg = yaml.safe_load(cfg_path.read_text()) or {}
    except yaml.YAMLError as e: raise BundleError(f"{cfg_path}: invalid YAML: {e}") from None
    if not isinstance(cfg, dict): raise BundleError(f"{cfg_path}: expected a mapping")
    typ = str(cfg.get("type", "default") or "default").lower()
    if typ not in ("default", "interactive"): raise BundleError(f"{cfg_path}: type must be default or interactive, got {typ!r}")
    tl = parse_time_limit(cfg.get("time_limit", "1s"))
    ml = parse_memory_limit(cfg.get("memory_limit", "256m"))
    checker = _find(d, cfg.get("checker"), CHECKER_NAMES, "checker")
    interactor = _find(d, cfg.get("interactor"), INTERACTOR_NAMES if typ == "interactive" else (), "interactor")
    if typ == "interactive" and interactor is None: raise BundleError(f"{d}: interactive problem without an interactor")
    tests, limits = [], []
    for inp, ans, st in _numbered_cases(cfg, d):
        for n in (inp, ans):
            if os.path.isabs(n) or ".." in Path(n).parts: raise BundleError(f"{d}: test file {n!r} must lie inside testdata/")
        pi, pa = d / "testdata" / inp, d / "testdata" / ans
        for p in (pi, pa):
            _confined(d, p, "test file")
            if not p.is_file(): raise BundleError(f"{d}: test file {p.relative_to(d)} not found")
        tests.append((pi, pa))
        limits.append((parse_time_limit(st.get("time_limit", tl)), parse_memory_limit(st.get("memory_limit", ml))))
    if not tests: raise BundleError(f"{d}: no tests")
    return Bundle(d, typ, tl, ml, checker, interactor, tests, limits)

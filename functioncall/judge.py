"""Judging: run a submission on tests in the sandbox and decide AC/WA/TLE/MLE/RE/CE/OLE as LiveCodeBench Pro does."""
from __future__ import annotations

import asyncio
import errno
import functools
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .bundle import BundleError, read_bundle
from .compiler import Program, check_python, compile_aux, compile_cpp
from .compiler import language as _language
from .sandbox import SLOTS, Session, cache_dir, isolation_level, python_prefix
from .verdict import Case, JudgeError, Verdict, excerpt

__all__ = ["judge", "judge_problem_dir", "ajudge", "ajudge_problem_dir", "OUTPUT_LIMIT_MB", "PYTHON_FLAGS"]

OUTPUT_LIMIT_MB = 64                 # OLE above this much output
PYTHON_FLAGS = ("-I", "-S")          # isolated mode, no site-packages: stdlib only, 15 ms start instead of 70
CHECKER_CPU_S, CHECKER_MEM_MB = 10, 1024
NPROC, NOFILE = 32, 256             # processes+threads per slot uid (the issue allows at most 128): with the
                                     # per-process address-space limit this bounds a slot's memory to NPROC x limit
SPAWN_EXTRA_AFTER_S = 0.05           # start more sandboxes for a submission only when the rest would take longer
_MEM_SIGNS = ("std::bad_alloc", "MemoryError", "Cannot allocate memory", "out of memory")


@dataclass
class _Spec:
    "One test to run: paths relative to the data dir, its limits."
    index: int
    inp: str
    ans: str
    tl: float
    ml: int


@dataclass
class _Job:
    "Everything the workers of one submission share."
    program: Program
    sol: tuple                       # (host path, sandbox path) of the binary or of the dir holding main.py
    data: Path                       # host dir bound read-only at /judge/data
    specs: list[_Spec]
    checker: Path | None
    interactor: Path | None
    stop: bool
    cap_mb: int
    tmp: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    next: int = 0
    failed: bool = False
    results: dict = field(default_factory=dict)
    error: BaseException | None = None
    isolation: str = ""
    threads: list = field(default_factory=list)
    answers: dict | None = None      # index -> expected output, when the answers are not files


@functools.cache
def _python_exe() -> str:
    "The running interpreter, as a path inside its (bound) prefix."
    exe = os.path.realpath(sys.executable)
    pre = python_prefix()
    if Path(exe).is_relative_to(pre): return exe
    v = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(pre / "bin" / v)


def _argv(job: _Job, root: str) -> tuple[list[str], str]:
    if job.program.language == "cpp": return [f"{root}/sol/prog"], f"{root}/sol/prog"
    exe = _python_exe()
    return [exe, *PYTHON_FLAGS, f"{root}/sol/main.py"], exe


def _read_head(path: Path, n: int = 4096) -> bytes:
    try:
        with open(path, "rb") as f: return f.read(n)
    except OSError: return b""


def _read_tail(path: Path, n: int = 4096) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2); size = f.tell(); f.seek(max(0, size - n))
            return f.read()
    except OSError: return b""


def _signame(sig: int) -> str:
    try: return signal.Signals(sig).name
    except ValueError: return f"signal {sig}"


def _classify(r: dict, p: str, out: Path | None, err: Path, tl: float, ml: int, cap_mb: int, static_mb: float = 0.0):
    """(status, message, time) of a finished run when it failed on its own; status None when it ran cleanly.
    Memory is limited as address space, so running out shows as a failed allocation (bad_alloc, MemoryError,
    a NULL dereference close to the limit), a binary whose global arrays do not fit, or a kill (OOM)."""
    code, sig, cpu, wall = r[p + "exit"], r[p + "sig"], r[p + "cpu_ms"] / 1000, r[p + "wall_ms"] / 1000
    rss, e = r[p + "rss_kb"] / 1024, r[p + "errno"]
    if e:
        if e in (errno.ENOMEM, errno.E2BIG): return "MLE", "not enough memory to load the program", cpu
        if e == errno.EAGAIN: return "RE", "could not start: process limit reached", cpu
        raise JudgeError(f"cannot start the program in the sandbox: {os.strerror(e)}")
    if cpu > tl or r[p + "cputle"] or sig == signal.SIGXCPU: return "TLE", f"CPU time limit {tl:g}s exceeded", max(cpu, tl)
    if r[p + "walltle"]: return "TLE", f"wall-clock limit {2 * tl:g}s exceeded (the program was not using the CPU)", wall
    size = out.stat().st_size if out is not None and out.exists() else 0
    if size > cap_mb << 20 or (sig == signal.SIGXFSZ and size >= cap_mb << 20):
        return "OLE", f"output over the limit of {cap_mb} MiB", cpu
    failed = sig != 0 or code != 0
    tail = _read_tail(err).decode("utf-8", "replace") if failed else ""
    if rss > ml: return "MLE", f"peak memory {rss:.1f} MiB over the limit {ml} MiB", cpu
    if failed and static_mb > ml - 4: return "MLE", f"global arrays need {static_mb:.0f} MiB, the limit is {ml} MiB", cpu
    if failed and (any(s in tail for s in _MEM_SIGNS) or sig == signal.SIGKILL
                   or (sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) and rss >= ml - max(ml / 8, 24))):
        return "MLE", f"memory limit {ml} MiB exceeded" + (f" ({_signame(sig)})" if sig else "") + _tail_msg(tail), cpu
    if sig == signal.SIGXFSZ: return "RE", "file size limit exceeded" + _tail_msg(tail), cpu
    if sig: return "RE", f"killed by {_signame(sig)}" + _tail_msg(tail), cpu
    if code: return "RE", f"exit code {code}" + _tail_msg(tail), cpu
    return None, "", cpu


def _tail_msg(tail: str) -> str:
    t = tail.strip()
    return "" if not t else "\n" + (t if len(t) <= 800 else "…" + t[-799:])


def _tokens_equal(out: Path, expected: bytes) -> bool:
    "Whitespace-separated token comparison."
    return out.read_bytes().split() == expected.split()


def _expected(job: "_Job", spec: _Spec) -> bytes:
    "The answer of a test: kept in memory for `judge(tests)`, else read from the bundle."
    if job.answers is not None: return job.answers[spec.index]
    return (job.data / spec.ans).read_bytes()


def _run_checker(s: Session, uid, inp: str, out: str, ans: str, io: Path) -> tuple[str, str]:
    "Run `checker in out ans` as the slot's second uid; exit 0 = AC."
    L = s.layout
    chk = f"{L.bin}/checker"
    r = s.run(dict(arg=[chk, "/dev/fd/3", "/dev/fd/4", "/dev/fd/5"], exe=chk, fd3=inp, fd4=out, fd5=ans,
                   stdout=f"{L.io}/chk_out", stderr=f"{L.io}/chk_err", uid=_aux(uid), gid=_aux(uid),
                   cpu_ms=CHECKER_CPU_S * 1000, wall_ms=CHECKER_CPU_S * 2000, mem_mb=CHECKER_MEM_MB, fsize_mb=16,
                   nproc=16, nofile=NOFILE), timeout=CHECKER_CPU_S * 2 + 30)
    if r["a.errno"]: raise JudgeError(f"cannot start the checker: {os.strerror(r['a.errno'])}")
    msg = (_read_head(io / "chk_err", 2000) or _read_head(io / "chk_out", 2000)).decode("utf-8", "replace").strip()
    if r["a.exit"] == 0 and not r["a.sig"]: return "AC", msg
    why = "checker timed out" if r["a.walltle"] else f"checker killed by {_signame(r['a.sig'])}" if r["a.sig"] else ""
    return "WA", excerpt(msg if not why else f"{why}: {msg}")


def _aux(uid): return -1 if uid is None else uid + 1


def _limits(spec: _Spec, cap_mb: int, uid) -> dict:
    return dict(uid=-1 if uid is None else uid, gid=-1 if uid is None else uid, cpu_ms=int(spec.tl * 1000),
                wall_ms=int(2 * spec.tl * 1000), mem_mb=spec.ml, fsize_mb=cap_mb, nproc=NPROC, nofile=NOFILE)


def _run_case(s: Session, job: _Job, spec: _Spec, uid, io: Path) -> Case:
    "Run one test (and its checker) in session `s`."
    L = s.layout
    argv, exe = _argv(job, L.root)
    inp, ans = f"{L.data}/{spec.inp}", f"{L.data}/{spec.ans}"
    guard = 2 * spec.tl + 30
    if job.interactor is None:
        a = dict(arg=argv, exe=exe, stdin=inp, stdout=f"{L.io}/out", stderr=f"{L.io}/err", **_limits(spec, job.cap_mb, uid))
        r = s.run(a, timeout=guard)
        status, msg, t = _classify(r, "a.", io / "out", io / "err", spec.tl, spec.ml, job.cap_mb, job.program.static_mb)
        out_host = io / "out"
        if status is None:
            if job.checker is not None: status, msg = _run_checker(s, uid, inp, f"{L.io}/out", ans, io)
            else: status = "AC" if _tokens_equal(io / "out", _expected(job, spec)) else "WA"
            if status == "WA" and not msg: msg = "wrong answer: tokens differ from the expected output"
    else:
        status, msg, t, r = _run_interactive(s, job, spec, uid, io, argv, exe, inp, ans, guard)
        out_host = io / "iout"
    c = Case(spec.index, status, round(t, 3), round(r["a.rss_kb"] / 1024, 1),
             r["a.exit"] if r["a.exit"] >= 0 else None, r["a.sig"] or None, msg)
    if status != "AC":
        c.input = excerpt(_read_head(job.data / spec.inp))
        c.output = excerpt(_read_head(out_host))
        c.expected = excerpt(_expected(job, spec)[:4096])
    return c


def _run_interactive(s, job, spec, uid, io, argv, exe, inp, ans, guard):
    "Solution and interactor wired by pipes; the interactor (larger budget) decides, then the checker if any."
    L = s.layout
    ichk = f"{L.bin}/interactor"
    a = dict(arg=argv, exe=exe, stderr=f"{L.io}/err", **_limits(spec, job.cap_mb, uid))
    b = dict(arg=[ichk, "/dev/fd/3", "/dev/fd/4", "/dev/fd/5"], exe=ichk, fd3=inp, wfd4=f"{L.io}/iout", fd5=ans,
             stderr=f"{L.io}/ierr", uid=_aux(uid), gid=_aux(uid), cpu_ms=int(2 * spec.tl * 1000) + 1000,
             wall_ms=int(2 * spec.tl * 1000) + 2000, mem_mb=max(spec.ml, CHECKER_MEM_MB), fsize_mb=job.cap_mb,
             nproc=16, nofile=NOFILE)
    r = s.run(a, b, pipe=True, timeout=guard + 5)
    if r["b.errno"]: raise JudgeError(f"cannot start the interactor: {os.strerror(r['b.errno'])}")
    status, msg, t = _classify(r, "a.", None, io / "err", spec.tl, spec.ml, job.cap_mb, job.program.static_mb)
    # precedence: the solution's TLE/MLE, its death by a signal, then the interactor's word (a solution that
    # exits with an error because the interactor hung up on it is judged by the interactor: WA)
    if status == "RE" and r["a.sig"] == signal.SIGPIPE: status = None
    if status in ("TLE", "MLE") or (status == "RE" and r["a.sig"]): return status, msg, t, r
    imsg = _read_head(io / "ierr", 2000).decode("utf-8", "replace").strip()
    if r["b.sig"] or r["b.walltle"] or r["b.exit"] != 0:
        why = "interactor timed out" if r["b.walltle"] else f"interactor killed by {_signame(r['b.sig'])}" if r["b.sig"] else ""
        return "WA", excerpt(f"{why}: {imsg}" if why else imsg or f"interactor exit code {r['b.exit']}"), t, r
    if status is not None: return status, msg, t, r
    if job.checker is not None:
        status, cmsg = _run_checker(s, uid, inp, f"{L.io}/iout", ans, io)
        return status, cmsg, t, r
    return "AC", imsg, t, r


def _take(job: _Job) -> _Spec | None:
    with job.lock:
        if job.error is not None or (job.stop and job.failed) or job.next >= len(job.specs): return None
        job.next += 1
        return job.specs[job.next - 1]


def _worker(job: _Job, slot: int, first: bool):
    "Run tests of `job` in one sandbox until none are left (or one failed, when stopping at the first failure)."
    io = Path(tempfile.mkdtemp(prefix="io-", dir=job.tmp))
    binds = [(job.sol[0], "/sol" + job.sol[1], True), (job.data, "/judge/data", True), (io, "/judge/io", False)]
    if job.checker is not None: binds.append((job.checker, "/judge/bin/checker", True))
    if job.interactor is not None: binds.append((job.interactor, "/judge/bin/interactor", True))
    try:
        with Session(binds, log_dir=str(job.tmp)) as s:
            job.isolation, uid = s.isolation, s.uid(slot)
            while (spec := _take(job)) is not None:
                t0 = time.perf_counter()
                c = _run_case(s, job, spec, uid, io)
                with job.lock:
                    job.results[spec.index] = c
                    if c.status != "AC": job.failed = True
                if first: _maybe_spread(job, time.perf_counter() - t0)
                first = False
    except BaseException as e:
        with job.lock: job.error = job.error or e
    finally: shutil.rmtree(io, ignore_errors=True)


def _maybe_spread(job: _Job, per_test: float):
    "After the first test: use free slots for the remaining tests when that saves time."
    with job.lock: left = len(job.specs) - job.next
    if left * per_test < SPAWN_EXTRA_AFTER_S or job.failed and job.stop: return
    extra = []
    while len(extra) < left - 1 and (slot := SLOTS.acquire(block=False)) is not None: extra.append(slot)
    for slot in extra:
        t = threading.Thread(target=_extra_worker, args=(job, slot), daemon=True)
        job.threads.append(t)
        t.start()


def _extra_worker(job: _Job, slot: int):
    try: _worker(job, slot, False)
    finally: SLOTS.release(slot)


def _run_job(job: _Job) -> list[Case]:
    slot = SLOTS.acquire()
    try: _worker(job, slot, True)
    finally: SLOTS.release(slot)
    for t in list(job.threads): t.join()
    if job.error is not None:
        raise job.error if isinstance(job.error, (JudgeError, OSError)) else JudgeError(repr(job.error))
    cases = [job.results[k] for k in sorted(job.results)]
    if job.stop:
        bad = next((i for i, c in enumerate(cases) if c.status != "AC"), None)
        if bad is not None: cases = cases[: bad + 1]
    seen = False
    for c in cases:                   # excerpts only for the first failure
        if c.status != "AC" and not seen: seen = True
        elif c.status != "AC": c.input = c.output = c.expected = None
    return cases


def _prepare(code: str, lang: str, tmp: Path) -> tuple[Program, tuple | None]:
    "Compile (cached) or syntax-check; returns the program and what to bind at /sol."
    if lang == "cpp":
        prog = compile_cpp(code)
        return prog, (prog.path, "/prog") if prog.ok else None
    prog = check_python(code)
    if not prog.ok: return prog, None
    sol = tmp / "sol"
    sol.mkdir(mode=0o755)
    os.chmod(sol, 0o755)
    (sol / "main.py").write_text(code)
    os.chmod(sol / "main.py", 0o644)
    prog.path = sol / "main.py"
    return prog, (sol, "")


def _judge(code, lang, data: Path, specs, checker, interactor, stop, cap_mb, tmp: Path, answers=None) -> Verdict:
    prog, sol = _prepare(code, lang, tmp)
    if not prog.ok: return Verdict("CE", 0, len(specs), [], prog.log, isolation_level())
    if not specs: return Verdict("AC", 0, 0, [], prog.log, isolation_level())
    job = _Job(prog, sol, data, specs, checker, interactor, stop, cap_mb, tmp, answers=answers)
    cases = _run_job(job)
    fail = next((c for c in cases if c.status != "AC"), None)
    return Verdict(fail.status if fail else "AC", sum(c.status == "AC" for c in cases), len(specs), cases,
                   prog.log, job.isolation or isolation_level())


def _source(x, what: str) -> tuple[Path | None, bytes | None]:
    "A checker/interactor given as a path or as source text."
    if x is None: return None, None
    if isinstance(x, Path) or (isinstance(x, str) and "\n" not in x and "#include" not in x):
        p = Path(x)
        if not p.is_file(): raise ValueError(f"{what} {x!r} is neither an existing file nor C++ source")
        return p, None
    if isinstance(x, (str, bytes)): return None, x.encode() if isinstance(x, str) else x
    raise TypeError(f"{what} must be a path or C++ source, got {type(x).__name__}")


def _tmpdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="judge-", dir=cache_dir() / "tmp"))


def _check_tests(tests) -> list[dict]:
    if not isinstance(tests, (list, tuple)): raise TypeError("tests must be a list of {'input': str, 'output': str}")
    for i, t in enumerate(tests):
        if not isinstance(t, dict) or not isinstance(t.get("input"), str) or not isinstance(t.get("output"), str):
            raise ValueError(f"test {i + 1} must be a dict with str 'input' and 'output'")
    return list(tests)


def _check_limits(time_limit, memory_limit_mb):
    if not isinstance(time_limit, (int, float)) or not 0 < time_limit <= 60: raise ValueError(f"time_limit must be in (0, 60] seconds, got {time_limit!r}")
    if not isinstance(memory_limit_mb, int) or not 4 <= memory_limit_mb <= 65536: raise ValueError(f"memory_limit_mb must be an int in [4, 65536], got {memory_limit_mb!r}")


def judge(code: str, language: str, tests: list[dict], time_limit: float = 1.0, memory_limit_mb: int = 256,
          checker=None, stop_on_first_failure: bool = True, *, interactor=None, testlib_dir=None,
          output_limit_mb: int = OUTPUT_LIMIT_MB) -> Verdict:
    """Judge `code` on `tests` ([{"input": str, "output": str}]). `checker`/`interactor`: C++ source text or a path
    (`chk in out ans`, exit 0 = accepted; interactor `in out ans` talks to the program through pipes)."""
    tests = _check_tests(tests)
    _check_limits(time_limit, memory_limit_mb)
    lang = _language(language)
    chk = _aux_binary(checker, testlib_dir, "checker")
    inter = _aux_binary(interactor, testlib_dir, "interactor")
    tmp = _tmpdir()
    try:
        data = tmp / "data"
        data.mkdir()
        files = ("input", "output") if chk or inter else ("input",)     # checkers read the answers from files
        for i, t in enumerate(tests, 1):
            for key in files:
                (data / f"{i}.{key[:3]}").write_text(t[key])
                os.chmod(data / f"{i}.{key[:3]}", 0o644)
        specs = [_Spec(i, f"{i}.inp", f"{i}.out", float(time_limit), int(memory_limit_mb)) for i in range(1, len(tests) + 1)]
        answers = {i: t["output"].encode() for i, t in enumerate(tests, 1)}
        return _judge(code, lang, data, specs, chk, inter, stop_on_first_failure, output_limit_mb, tmp, answers)
    finally: shutil.rmtree(tmp, ignore_errors=True)



def _aux_binary(x, testlib_dir, what) -> Path | None:
    path, src = _source(x, what)
    if path is None and src is None: return None
    return compile_aux(path, src, testlib_dir, what)


def judge_problem_dir(code: str, language: str, problem_dir, stop_on_first_failure: bool = True, cases=None, *,
                      testlib_dir=None, output_limit_mb: int = OUTPUT_LIMIT_MB) -> Verdict:
    """Judge `code` on a problem directory in the LiveCodeBench Pro bundle layout (DESIGN.md §9).
    `cases`: 1-based test numbers to run (e.g. the samples), default all."""
    b = read_bundle(problem_dir)
    lang = _language(language)
    idx = list(range(1, len(b.tests) + 1)) if cases is None else list(cases)
    for i in idx:
        if not isinstance(i, int) or not 1 <= i <= len(b.tests): raise ValueError(f"case {i!r} out of range 1..{len(b.tests)}")
    data = b.testdata.resolve()
    specs = []
    for i in idx:
        (inp, ans), (tl, ml) = b.tests[i - 1], b.case_limits[i - 1]
        try: rel = [str(p.resolve().relative_to(data)) for p in (inp, ans)]
        except ValueError: raise BundleError(f"{b.problem_dir}: test {i} lies outside testdata/") from None
        specs.append(_Spec(i, rel[0], rel[1], tl, ml))
    chk = compile_aux(b.checker, None, testlib_dir, "checker") if b.checker else None
    inter = compile_aux(b.interactor, None, testlib_dir, "interactor") if b.interactor else None
    tmp = _tmpdir()
    try: return _judge(code, lang, data, specs, chk, inter, stop_on_first_failure, output_limit_mb, tmp)
    finally: shutil.rmtree(tmp, ignore_errors=True)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    "Threads that wait on sandboxes for the async API (the slots, not the threads, bound the parallelism)."
    global _executor
    with _executor_lock:
        if _executor is None: _executor = ThreadPoolExecutor(max_workers=max(64, 8 * SLOTS.n), thread_name_prefix="functioncall")
        return _executor


async def ajudge(*args, **kwargs) -> Verdict:
    "`judge` without blocking the event loop."
    return await asyncio.get_running_loop().run_in_executor(_pool(), functools.partial(judge, *args, **kwargs))


async def ajudge_problem_dir(*args, **kwargs) -> Verdict:
    "`judge_problem_dir` without blocking the event loop."
    return await asyncio.get_running_loop().run_in_executor(_pool(), functools.partial(judge_problem_dir, *args, **kwargs))

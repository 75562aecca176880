"""Judging: run a submission on tests in the sandbox and decide AC/WA/TLE/MLE/RE/CE/OLE as LiveCodeBench Pro does."""
from __future__ import annotations

import asyncio
import errno
import functools
import hashlib
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
from .compiler import COMPILE_MEM_MB, LOG_CHARS, Program, compile_aux, compile_cpp
from .compiler import language as _language
from .sandbox import SLOTS, Session, isolation_level, python_prefix, work_dir
from .verdict import Case, JudgeError, Verdict, clean, excerpt

__all__ = ["judge", "judge_problem_dir", "ajudge", "ajudge_problem_dir", "OUTPUT_LIMIT_MB", "PYTHON_FLAGS",
           "STACK_LIMIT_MB", "JudgeCancelled"]

OUTPUT_LIMIT_MB = 64                 # OLE above this much output
STACK_LIMIT_MB = int(os.environ.get("FUNCTIONCALL_STACK_MB", "64") or 64)   # its own limit: threads get it too
PYTHON_FLAGS = ("-I", "-S")          # isolated mode, no site-packages: stdlib only, 15 ms start instead of 70
CHECKER_CPU_S, CHECKER_MEM_MB = 10, 1024
SYNTAX_CPU_S = 10                    # the Python syntax check (in the sandbox, COMPILE_MEM_MB of memory)
NPROC, NOFILE = 32, 256             # processes+threads per run (cgroup pids limit) and per slot uid (RLIMIT_NPROC)
SPAWN_EXTRA_AFTER_S = 0.05           # start more sandboxes for a submission only when the rest would take longer
CHUNK = 1 << 16                      # streaming comparison block


class JudgeCancelled(JudgeError):
    """The submission was cancelled (its HTTP client went away) before it was judged."""


_SYNTAX_CHECK = r"""
import sys, warnings
warnings.simplefilter("ignore")
src = open(sys.argv[1], "rb").read()
try: compile(src, "main.py", "exec", dont_inherit=True)
except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError) as e:
    import traceback
    sys.stderr.write("".join(traceback.format_exception_only(type(e), e))[-%d:])
    sys.exit(1)
""" % LOG_CHARS


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
    stack_mb: int = STACK_LIMIT_MB
    syntax_key: str | None = None    # Python: check the syntax in the sandbox first (not cached yet)
    ce_log: str | None = None        # set when that check fails
    cancel: threading.Event | None = None
    sessions: set = field(default_factory=set)
    done: bool = False


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


def _classify(r: dict, p: str, out: Path | None, err: Path, tl: float, ml: int, cap_mb: int):
    """(status, message, time) of a finished run when it failed on its own; status None when it ran cleanly.
    With a cgroup, MLE means the cgroup's memory limit was hit: its OOM killer struck, or the run failed after its
    memory use reached the limit; a program's own words ("std::bad_alloc", exit codes, SIGKILL) never make an MLE.
    Without a cgroup (limits per process, on the address space), a failed allocation is recognised by the shape of
    the death: abort by an uncaught std::bad_alloc, a Python MemoryError exit, or a crash close to the limit."""
    code, sig, cpu, wall = r[p + "exit"], r[p + "sig"], r[p + "cpu_ms"] / 1000, r[p + "wall_ms"] / 1000
    mem, e, cg = r.get(p + "mem_kb", r[p + "rss_kb"]) / 1024, r[p + "errno"], r.get(p + "cg", 0)
    if e:
        if e in (errno.ENOMEM, errno.E2BIG): return "MLE", "not enough memory to load the program", cpu
        if e == errno.EAGAIN: return "RE", "could not start: process limit reached", cpu
        raise JudgeError(f"cannot start the program in the sandbox: {os.strerror(e)}")
    if cpu > tl or r[p + "cputle"] or sig == signal.SIGXCPU:
        return "TLE", f"CPU time limit {tl:g}s exceeded (all processes of the run)", max(cpu, tl)
    if r[p + "walltle"]: return "TLE", f"wall-clock limit {2 * tl:g}s exceeded (the program was not using the CPU)", wall
    size = out.stat().st_size if out is not None and out.exists() else 0
    if size > cap_mb << 20 or (sig == signal.SIGXFSZ and size >= cap_mb << 20):
        return "OLE", f"output over the limit of {cap_mb} MiB", cpu
    failed = sig != 0 or code != 0
    tail = _read_tail(err).decode("utf-8", "replace") if failed else ""
    if cg:
        if r.get(p + "oom", 0) > 0:
            return "MLE", f"memory limit {ml} MiB exceeded (peak {mem:.0f} MiB; killed by the cgroup's OOM killer)", cpu
        if failed and r.get(p + "memhit", 0):
            return "MLE", f"memory limit {ml} MiB reached (peak {mem:.0f} MiB), then the program failed" + _tail_msg(tail), cpu
    else:
        if mem > ml: return "MLE", f"peak memory {mem:.1f} MiB over the limit {ml} MiB", cpu
        last = tail.strip().splitlines()[-1] if tail.strip() else ""
        if failed and ((sig == signal.SIGABRT and "std::bad_alloc" in tail) or (code == 1 and not sig and last.startswith("MemoryError"))
                       or (sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS) and mem >= ml - max(ml / 8, 24))):
            return "MLE", f"memory limit {ml} MiB exceeded" + (f" ({_signame(sig)})" if sig else "") + _tail_msg(tail), cpu
    if sig == signal.SIGXFSZ: return "RE", "file size limit exceeded" + _tail_msg(tail), cpu
    if sig: return "RE", f"killed by {_signame(sig)}" + _tail_msg(tail), cpu
    if code: return "RE", f"exit code {code}" + _tail_msg(tail), cpu
    return None, "", cpu


def _tail_msg(tail: str) -> str:
    t = tail.strip()
    return "" if not t else "\n" + (t if len(t) <= 800 else "…" + t[-799:])


def _normalized(chunks):
    """The whitespace-separated tokens of a byte stream, joined by single spaces, as a stream of pieces: equal
    normalised streams <=> equal token lists, and memory stays one block whatever the size."""
    started = mid = False                      # emitted a token yet / the last block ended inside a token
    for c in chunks:
        if not c: continue
        toks = c.split()
        if not toks:
            mid = False
            continue
        lead = b"" if (mid and not c[:1].isspace()) or not started else b" "
        yield lead + b" ".join(toks)
        started, mid = True, not c[-1:].isspace()


def _blocks(path: Path):
    with open(path, "rb") as f:
        while b := f.read(CHUNK): yield b


def _mem_blocks(data: bytes):
    for i in range(0, len(data), CHUNK): yield data[i:i + CHUNK]


def _streams_equal(a, b) -> bool:
    "Whether two streams of byte pieces concatenate to the same bytes (holding one piece of each at a time)."
    a, b = iter(a), iter(b)
    pa = pb = b""
    while True:
        if not pa: pa = next(a, None)
        if not pb: pb = next(b, None)
        if pa is None or pb is None: return pa is None and pb is None
        n = min(len(pa), len(pb))
        if pa[:n] != pb[:n]: return False
        pa, pb = pa[n:], pb[n:]


def _tokens_equal(out: Path, expected) -> bool:
    "Whitespace-separated token comparison, streaming (memory independent of the output's size)."
    exp = _blocks(expected) if isinstance(expected, Path) else _mem_blocks(expected)
    return _streams_equal(_normalized(_blocks(out)), _normalized(exp))


def _expected(job: "_Job", spec: _Spec):
    "The answer of a test: bytes kept in memory for `judge(tests)`, else the bundle's answer file."
    if job.answers is not None: return job.answers[spec.index]
    return job.data / spec.ans


def _expected_head(job: "_Job", spec: _Spec) -> bytes:
    exp = _expected(job, spec)
    return exp[:4096] if isinstance(exp, bytes) else _read_head(exp)


def _run_checker(s: Session, uid, inp: str, out: str, ans: str, io: Path) -> tuple[str, str]:
    "Run `checker in out ans` as the slot's second uid; exit 0 = AC."
    L = s.layout
    chk = f"{L.bin}/checker"
    r = s.run(dict(arg=[chk, "/dev/fd/3", "/dev/fd/4", "/dev/fd/5"], exe=chk, fd3=inp, fd4=out, fd5=ans,
                   stdout=f"{L.io}/chk_out", stderr=f"{L.io}/chk_err", uid=_aux(uid), gid=_aux(uid),
                   cpu_ms=CHECKER_CPU_S * 1000, wall_ms=CHECKER_CPU_S * 2000, mem_mb=CHECKER_MEM_MB,
                   stack_mb=STACK_LIMIT_MB, fsize_mb=16, nproc=16, nofile=NOFILE), timeout=CHECKER_CPU_S * 2 + 30)
    if r["a.errno"]: raise JudgeError(f"cannot start the checker: {os.strerror(r['a.errno'])}")
    msg = (_read_head(io / "chk_err", 2000) or _read_head(io / "chk_out", 2000)).decode("utf-8", "replace").strip()
    if r["a.exit"] == 0 and not r["a.sig"]: return "AC", msg
    why = "checker timed out" if r["a.walltle"] else f"checker killed by {_signame(r['a.sig'])}" if r["a.sig"] else ""
    return "WA", excerpt(msg if not why else f"{why}: {msg}")


def _aux(uid): return -1 if uid is None else uid + 1


def _limits(spec: _Spec, cap_mb: int, uid, stack_mb: int = STACK_LIMIT_MB) -> dict:
    return dict(uid=-1 if uid is None else uid, gid=-1 if uid is None else uid, cpu_ms=int(spec.tl * 1000),
                wall_ms=int(2 * spec.tl * 1000), mem_mb=spec.ml, stack_mb=stack_mb, fsize_mb=cap_mb, nproc=NPROC,
                nofile=NOFILE)


def _run_case(s: Session, job: _Job, spec: _Spec, uid, io: Path) -> Case:
    "Run one test (and its checker) in session `s`."
    L = s.layout
    argv, exe = _argv(job, L.root)
    inp, ans = f"{L.data}/{spec.inp}", f"{L.data}/{spec.ans}"
    guard = 2 * spec.tl + 30
    if job.program.static_mb > spec.ml:              # global arrays alone exceed the limit: the program cannot fit
        c = Case(spec.index, "MLE", 0.0, round(job.program.static_mb, 1), None, None,
                 f"global arrays need {job.program.static_mb:.0f} MiB, the limit is {spec.ml} MiB")
        c.input, c.expected = excerpt(_read_head(job.data / spec.inp)), excerpt(_expected_head(job, spec))
        return c
    if job.interactor is None:
        a = dict(arg=argv, exe=exe, stdin=inp, stdout=f"{L.io}/out", stderr=f"{L.io}/err",
                 **_limits(spec, job.cap_mb, uid, job.stack_mb))
        r = s.run(a, timeout=guard)
        status, msg, t = _classify(r, "a.", io / "out", io / "err", spec.tl, spec.ml, job.cap_mb)
        out_host = io / "out"
        if status is None:
            if job.checker is not None: status, msg = _run_checker(s, uid, inp, f"{L.io}/out", ans, io)
            else: status = "AC" if _tokens_equal(io / "out", _expected(job, spec)) else "WA"
            if status == "WA" and not msg: msg = "wrong answer: tokens differ from the expected output"
    else:
        status, msg, t, r = _run_interactive(s, job, spec, uid, io, argv, exe, inp, ans, guard)
        out_host = io / "iout"
    c = Case(spec.index, status, round(t, 3), round(r.get("a.mem_kb", r["a.rss_kb"]) / 1024, 1),
             r["a.exit"] if r["a.exit"] >= 0 else None, r["a.sig"] or None, clean(msg))
    if status != "AC":
        c.input = excerpt(_read_head(job.data / spec.inp))
        c.output = excerpt(_read_head(out_host))
        c.expected = excerpt(_expected_head(job, spec))
    return c


def _run_interactive(s, job, spec, uid, io, argv, exe, inp, ans, guard):
    "Solution and interactor wired by pipes; the interactor (larger budget) decides, then the checker if any."
    L = s.layout
    ichk = f"{L.bin}/interactor"
    a = dict(arg=argv, exe=exe, stderr=f"{L.io}/err", **_limits(spec, job.cap_mb, uid, job.stack_mb))
    b = dict(arg=[ichk, "/dev/fd/3", "/dev/fd/4", "/dev/fd/5"], exe=ichk, fd3=inp, wfd4=f"{L.io}/iout", fd5=ans,
             stderr=f"{L.io}/ierr", uid=_aux(uid), gid=_aux(uid), cpu_ms=int(2 * spec.tl * 1000) + 1000,
             wall_ms=int(2 * spec.tl * 1000) + 2000, mem_mb=max(spec.ml, CHECKER_MEM_MB), stack_mb=STACK_LIMIT_MB,
             fsize_mb=job.cap_mb, nproc=16, nofile=NOFILE)
    r = s.run(a, b, pipe=True, timeout=guard + 5)
    if r["b.errno"]: raise JudgeError(f"cannot start the interactor: {os.strerror(r['b.errno'])}")
    status, msg, t = _classify(r, "a.", None, io / "err", spec.tl, spec.ml, job.cap_mb)
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
        if job.cancel is not None and job.cancel.is_set() and job.error is None: job.error = JudgeCancelled("cancelled")
        if job.error is not None or job.ce_log is not None or (job.stop and job.failed) or job.next >= len(job.specs):
            return None
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
            with job.lock:
                if job.cancel is not None and job.cancel.is_set(): return
                job.sessions.add(s)
            job.isolation, uid = s.isolation, s.uid(slot)
            if first and job.syntax_key is not None: _check_syntax(s, job, uid, io)
            while (spec := _take(job)) is not None:
                t0 = time.perf_counter()
                c = _run_case(s, job, spec, uid, io)
                with job.lock:
                    job.results[spec.index] = c
                    if c.status != "AC": job.failed = True
                if first: _maybe_spread(job, time.perf_counter() - t0)
                first = False
    except BaseException as e:
        with job.lock:
            if job.cancel is not None and job.cancel.is_set(): e = JudgeCancelled("cancelled")
            job.error = job.error or e
    finally:
        with job.lock: job.sessions = {x for x in job.sessions if x.proc.poll() is None}
        shutil.rmtree(io, ignore_errors=True)


_syntax_ok: dict[str, str | None] = {}          # source hash -> None (fine) or the error text; bounded
_syntax_lock = threading.Lock()


def _check_syntax(s: Session, job: _Job, uid, io: Path):
    "Compile the Python source in the sandbox (never in the judge process: a huge source costs memory and time)."
    L = s.layout
    exe = _python_exe()
    r = s.run(dict(arg=[exe, *PYTHON_FLAGS, "-c", _SYNTAX_CHECK, f"{L.root}/sol/main.py"], exe=exe,
                   stderr=f"{L.io}/syntax", uid=-1 if uid is None else uid, gid=-1 if uid is None else uid,
                   cpu_ms=SYNTAX_CPU_S * 1000, wall_ms=SYNTAX_CPU_S * 2000, mem_mb=COMPILE_MEM_MB,
                   stack_mb=STACK_LIMIT_MB, fsize_mb=1, nproc=4, nofile=64), timeout=SYNTAX_CPU_S * 2 + 30)
    if r["a.errno"]: raise JudgeError(f"cannot start the Python syntax check: {os.strerror(r['a.errno'])}")
    if r["a.exit"] == 0 and not r["a.sig"]: log = None
    elif r["a.exit"] == 1 and not r["a.sig"] and not r.get("a.oom"):
        log = clean(_read_tail(io / "syntax", LOG_CHARS).decode("utf-8", "replace")) or "SyntaxError"
    else:
        why = "time" if r["a.cputle"] or r["a.walltle"] else "memory" if r.get("a.oom") or r.get("a.memhit") else ""
        log = f"the syntax check of the source failed ({why + ' limit reached' if why else _signame(r['a.sig']) if r['a.sig'] else 'exit ' + str(r['a.exit'])}): the source is too large or too complex"
    with _syntax_lock:
        if len(_syntax_ok) > 4096: _syntax_ok.clear()
        _syntax_ok[job.syntax_key] = log
    if log is not None:
        with job.lock: job.ce_log = log


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
    if job.cancel is not None and job.cancel.is_set(): raise JudgeCancelled("the submission was cancelled")
    if job.error is not None:
        raise job.error if isinstance(job.error, (JudgeError, OSError)) else JudgeError(repr(job.error))
    if job.ce_log is not None: return []
    cases = [job.results[k] for k in sorted(job.results)]
    if job.stop:
        bad = next((i for i, c in enumerate(cases) if c.status != "AC"), None)
        if bad is not None: cases = cases[: bad + 1]
    seen = False
    for c in cases:                   # excerpts only for the first failure
        if c.status != "AC" and not seen: seen = True
        elif c.status != "AC": c.input = c.output = c.expected = None
    return cases


def _prepare(code: str, lang: str, tmp: Path) -> tuple[Program, tuple | None, str | None]:
    "Compile (cached); for Python write main.py. Returns the program, what to bind at /sol, the syntax-check key."
    if lang == "cpp":
        prog = compile_cpp(code)
        return prog, (prog.path, "/prog") if prog.ok else None, None
    raw = code.encode("utf-8", "surrogateescape")
    key = hashlib.sha256(raw).hexdigest()
    with _syntax_lock: known = _syntax_ok.get(key, ...)
    if known is not ... and known is not None: return Program("python", None, known, ok=False), None, None
    sol = tmp / "sol"
    sol.mkdir(mode=0o755)
    os.chmod(sol, 0o755)
    (sol / "main.py").write_bytes(raw)
    os.chmod(sol / "main.py", 0o644)
    return Program("python", sol / "main.py"), (sol, ""), (key if known is ... else None)


def _judge(code, lang, data: Path, specs, checker, interactor, stop, cap_mb, tmp: Path, answers=None,
           stack_mb=None, cancel=None) -> Verdict:
    prog, sol, syntax_key = _prepare(code, lang, tmp)
    if not prog.ok: return Verdict("CE", 0, len(specs), [], clean(prog.log), isolation_level())
    if not specs and syntax_key is None: return Verdict("AC", 0, 0, [], clean(prog.log), isolation_level())
    job = _Job(prog, sol, data, specs, checker, interactor, stop, cap_mb, tmp, answers=answers,
               stack_mb=STACK_LIMIT_MB if stack_mb is None else int(stack_mb), syntax_key=syntax_key, cancel=cancel)
    if cancel is not None: _watch_cancel(job)
    try: cases = _run_job(job)
    finally: job.done = True
    if job.ce_log is not None: return Verdict("CE", 0, len(specs), [], job.ce_log, job.isolation or isolation_level())
    fail = next((c for c in cases if c.status != "AC"), None)
    return Verdict(fail.status if fail else "AC", sum(c.status == "AC" for c in cases), len(specs), cases,
                   clean(prog.log), job.isolation or isolation_level())


def _watch_cancel(job: _Job):
    "When the job is cancelled, kill its sandboxes at once (the running test stops; no further test starts)."
    def watch():
        while not job.cancel.wait(0.5):
            if job.done: return
        with job.lock: sessions = list(job.sessions)
        for s in sessions: s.kill()
    threading.Thread(target=watch, daemon=True, name="functioncall-cancel").start()


def _source(x, what: str) -> tuple[Path | None, bytes | None]:
    "A checker/interactor given as a path or as source text."
    if x is None: return None, None
    if isinstance(x, Path) or (isinstance(x, str) and "\n" not in x and "#include" not in x):
        p = Path(x)
        if not p.is_file(): raise ValueError(f"{what} {x!r} is neither an existing file nor C++ source")
        return p, None
    if isinstance(x, (str, bytes)): return None, x.encode() if isinstance(x, str) else x
    raise TypeError(f"{what} must be a path or C++ source, got {type(x).__name__}")


def _check_tests(tests) -> list[dict]:
    if not isinstance(tests, (list, tuple)): raise TypeError("tests must be a list of {'input': str, 'output': str}")
    for i, t in enumerate(tests):
        if not isinstance(t, dict) or not isinstance(t.get("input"), str) or not isinstance(t.get("output"), str):
            raise ValueError(f"test {i + 1} must be a dict with str 'input' and 'output'")
    return list(tests)


def _check_limits(time_limit, memory_limit_mb):
    if not isinstance(time_limit, (int, float)) or not 0 < time_limit <= 60: raise ValueError(f"time_limit must be in (0, 60] seconds, got {time_limit!r}")
    if not isinstance(memory_limit_mb, int) or not 4 <= memory_limit_mb <= 65536: raise ValueError(f"memory_limit_mb must be an int in [4, 65536], got {memory_limit_mb!r}")


def _check_stack(stack_limit_mb):
    if stack_limit_mb is not None and (not isinstance(stack_limit_mb, int) or isinstance(stack_limit_mb, bool)
                                       or not 1 <= stack_limit_mb <= 65536):
        raise ValueError(f"stack_limit_mb must be an int in [1, 65536], got {stack_limit_mb!r}")


def judge(code: str, language: str, tests: list[dict], time_limit: float = 1.0, memory_limit_mb: int = 256,
          checker=None, stop_on_first_failure: bool = True, *, interactor=None, testlib_dir=None,
          output_limit_mb: int = OUTPUT_LIMIT_MB, stack_limit_mb: int | None = None, _cancel=None) -> Verdict:
    """Judge `code` on `tests` ([{"input": str, "output": str}]). `checker`/`interactor`: C++ source text or a path
    (`chk in out ans`, exit 0 = accepted; interactor `in out ans` talks to the program through pipes).
    `stack_limit_mb`: the stack limit of the program and of each of its threads (default STACK_LIMIT_MB, 64)."""
    tests = _check_tests(tests)
    _check_limits(time_limit, memory_limit_mb)
    _check_stack(stack_limit_mb)
    lang = _language(language)
    chk = _aux_binary(checker, testlib_dir, "checker")
    inter = _aux_binary(interactor, testlib_dir, "interactor")
    tmp = work_dir("judge-")
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
        return _judge(code, lang, data, specs, chk, inter, stop_on_first_failure, output_limit_mb, tmp, answers,
                      stack_limit_mb, _cancel)
    finally: shutil.rmtree(tmp, ignore_errors=True)



def _aux_binary(x, testlib_dir, what) -> Path | None:
    path, src = _source(x, what)
    if path is None and src is None: return None
    return compile_aux(path, src, testlib_dir, what)


def judge_problem_dir(code: str, language: str, problem_dir, stop_on_first_failure: bool = True, cases=None, *,
                      testlib_dir=None, output_limit_mb: int = OUTPUT_LIMIT_MB, stack_limit_mb: int | None = None,
                      _cancel=None) -> Verdict:
    """Judge `code` on a problem directory in the LiveCodeBench Pro bundle layout (see nbs/architecture.ipynb, "LiveCodeBench Pro test bundles").
    `cases`: 1-based test numbers to run (e.g. the samples), default all; each at most once."""
    _check_stack(stack_limit_mb)
    b = read_bundle(problem_dir)
    lang = _language(language)
    idx = list(range(1, len(b.tests) + 1)) if cases is None else list(cases)
    for i in idx:
        if not isinstance(i, int) or isinstance(i, bool): raise ValueError(f"cases must be 1-based test numbers, got {i!r}")
        if not 1 <= i <= len(b.tests): raise ValueError(f"case {i!r} out of range 1..{len(b.tests)}")
    if len(set(idx)) != len(idx): raise ValueError(f"cases={idx!r} lists a test more than once")
    data = b.testdata.resolve()
    specs = []
    for i in idx:
        (inp, ans), (tl, ml) = b.tests[i - 1], b.case_limits[i - 1]
        try: rel = [str(p.resolve().relative_to(data)) for p in (inp, ans)]
        except ValueError: raise BundleError(f"{b.problem_dir}: test {i} lies outside testdata/") from None
        specs.append(_Spec(i, rel[0], rel[1], tl, ml))
    chk = compile_aux(b.checker, None, testlib_dir, "checker") if b.checker else None
    inter = compile_aux(b.interactor, None, testlib_dir, "interactor") if b.interactor else None
    tmp = work_dir("judge-")
    try: return _judge(code, lang, data, specs, chk, inter, stop_on_first_failure, output_limit_mb, tmp,
                       stack_mb=stack_limit_mb, cancel=_cancel)
    finally: shutil.rmtree(tmp, ignore_errors=True)


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    "Threads that wait on sandboxes for the async API (the slots, not the threads, bound the parallelism)."
    global _executor
    with _executor_lock:
        if _executor is None: _executor = ThreadPoolExecutor(max_workers=max(64, 8 * SLOTS.n), thread_name_prefix="functioncall")
        return _executor


async def _in_thread(fn, args, kwargs) -> Verdict:
    "Run `fn` in the pool; if this coroutine is cancelled, the submission is cancelled too (its sandboxes killed)."
    cancel = threading.Event()
    fut = asyncio.get_running_loop().run_in_executor(_pool(), functools.partial(fn, *args, _cancel=cancel, **kwargs))
    try: return await asyncio.shield(fut)
    except asyncio.CancelledError:
        cancel.set()
        raise


async def ajudge(*args, **kwargs) -> Verdict:
    "`judge` without blocking the event loop; cancelling the call cancels the submission."
    return await _in_thread(judge, args, kwargs)


async def ajudge_problem_dir(*args, **kwargs) -> Verdict:
    "`judge_problem_dir` without blocking the event loop; cancelling the call cancels the submission."
    return await _in_thread(judge_problem_dir, args, kwargs)

"""Compilation, once per distinct source: C++ in the sandbox (its own cgroup: a short wall limit, CPU counted over
all of g++'s processes, COMPILE_MEM_MB of memory) with a content-hash cache shared by processes, capped in size with
least-recently-used eviction. Python is syntax-checked by the judge inside the sandbox (`check_python` is the
in-process variant, kept for callers that trust the source)."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .sandbox import SLOTS, Session, cache_dir, work_dir
from .verdict import JudgeError, clean

__all__ = ["CXX_FLAGS", "Program", "compile_cpp", "compile_aux", "check_python", "needs_testlib", "testlib_dir",
           "TestlibMissing", "language", "COMPILE_WALL_S", "CACHE_MB"]

CXX_FLAGS = ("-O2", "-pipe", "-std=gnu++17")     # LiveCodeBench Pro's judge
EXTRA_FLAGS = ("-fmax-errors=20",)               # a short log for a broken source
COMPILE_WALL_S = float(os.environ.get("FUNCTIONCALL_COMPILE_TIMEOUT", "30") or 30)   # wall = CPU limit (all of g++)
COMPILE_MEM_MB, BINARY_MB, LOG_CHARS = 2048, 256, 10_000
CACHE_MB = int(os.environ.get("FUNCTIONCALL_CACHE_MB", "2048") or 2048)          # compile cache cap (LRU eviction)
_TESTLIB = re.compile(rb'#\s*include\s*[<"]testlib\.h[>"]')


class TestlibMissing(JudgeError):
    """A checker or interactor includes testlib.h but no testlib directory is configured."""


def language(lang: str) -> str:
    "Normalise a language name to 'cpp' or 'python'."
    l = str(lang).strip().lower()
    if l in ("cpp", "c++", "cxx", "cc", "g++", "gnu++17", "cpp17"): return "cpp"
    if l in ("python", "py", "python3", "py3"): return "python"
    raise ValueError(f"unsupported language {lang!r}: use 'cpp' or 'python'")


@dataclass
class Program:
    "A runnable submission: a cached binary or a Python source file; `ok` False means a compile error."
    language: str
    path: Path | None                 # binary (cpp) or main.py (python)
    log: str = ""
    ok: bool = True
    static_mb: float = 0.0            # memory the binary's segments need before it runs (global arrays)


def elf_static_mb(path: Path) -> float:
    "Total size in MiB of an ELF binary's loadable segments (code, data and bss): the memory it needs to start."
    import struct
    try:
        with open(path, "rb") as f: head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2: return 0.0            # not a 64-bit ELF
        end = "<" if head[5] == 1 else ">"
        phoff, = struct.unpack_from(end + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(end + "HH", head, 54)
        with open(path, "rb") as f:
            f.seek(phoff)
            table = f.read(phentsize * phnum)
        total = 0
        for i in range(phnum):
            ptype, = struct.unpack_from(end + "I", table, i * phentsize)
            if ptype == 1: total += struct.unpack_from(end + "Q", table, i * phentsize + 40)[0]   # PT_LOAD p_memsz
        return total / (1 << 20)
    except (OSError, struct.error): return 0.0


_gxx_id: list[str] = []
_key_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def _compiler_id() -> str:
    "First line of `g++ --version` (part of the cache key)."
    if not _gxx_id:
        gxx = shutil.which("g++")
        if gxx is None: raise JudgeError("g++ not found: C++ submissions need it")
        _gxx_id.append(subprocess.run([gxx, "--version"], capture_output=True, text=True).stdout.split("\n")[0])
    return _gxx_id[0]


def _key_lock(key: str) -> threading.Lock:
    with _locks_lock: return _key_locks.setdefault(key, threading.Lock())


def _atomic_write(path: Path, data: bytes):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _run_gxx(source: bytes, include_dirs, slot: int) -> tuple[Path | None, str, bool]:
    "Compile in a sandbox; returns (binary in a private temp dir or None, log, cacheable)."
    work = work_dir("cc-")
    try:
        (work / "src").mkdir(mode=0o755); (work / "out").mkdir(); (work / "io").mkdir(mode=0o700)
        os.chmod(work / "src", 0o755)
        (work / "src" / "main.cpp").write_bytes(source)
        os.chmod(work / "src" / "main.cpp", 0o644)
        binds = [(work / "src", "/src", True), (work / "out", "/out", False), (work / "io", "/judge/io", False)]
        for i, d in enumerate(include_dirs):           # copies: the sandbox uid may not read the original dir
            inc = work / f"inc{i}"
            inc.mkdir(mode=0o755)
            for h in Path(d).glob("*.h"):
                shutil.copyfile(h, inc / h.name)
                os.chmod(inc / h.name, 0o644)
            binds.append((inc, f"/inc/{i}", True))
        with Session(binds) as s:
            L, uid = s.layout, s.uid(slot)
            if uid is not None: os.chown(work / "out", uid, uid)
            argv = ["/usr/bin/g++", *CXX_FLAGS, *EXTRA_FLAGS, *[f"-I{L.root}/inc/{i}" for i in range(len(include_dirs))],
                    "-o", f"{L.out}/prog", f"{L.src}/main.cpp"]
            ms = int(COMPILE_WALL_S * 1000)
            r = s.run(dict(arg=argv, exe=shutil.which("g++") or "/usr/bin/g++", env=["PATH=/usr/bin:/bin", "TMPDIR=.", "LC_ALL=C"],
                           stdout=f"{L.io}/log", stderr=f"{L.io}/log", uid=-1 if uid is None else uid,
                           gid=-1 if uid is None else uid, cpu_ms=ms, wall_ms=ms, mem_mb=COMPILE_MEM_MB, stack_mb=64,
                           fsize_mb=BINARY_MB, nproc=128, nofile=512), timeout=COMPILE_WALL_S + 30)
        with open(work / "io" / "log", "rb") as f: raw = f.read(LOG_CHARS * 4 + 1)
        log = clean(raw.decode("utf-8", "replace"))
        if len(log) > LOG_CHARS or len(raw) > LOG_CHARS * 4: log = log[:LOG_CHARS] + "\n… (compiler output cut)"
        prog = work / "out" / "prog"
        if r["a.walltle"] or r["a.cputle"] or r["a.sig"] == 24:
            return None, log + f"\ncompilation timed out (limit {COMPILE_WALL_S:g}s)", False
        if r.get("a.oom") or (r.get("a.memhit") and r["a.exit"] != 0):
            return None, log + f"\ncompilation ran out of memory (limit {COMPILE_MEM_MB} MiB)", False
        if r["a.sig"] == 9: return None, log + "\ncompilation was killed", False
        if r["a.exit"] == 0 and prog.is_file() and not prog.is_symlink():
            keep = Path(tempfile.mkdtemp(prefix="bin-", dir=cache_dir() / "tmp")) / "prog"
            shutil.copyfile(prog, keep)
            return keep, log, True
        # cache only the compiler's verdict on the source, never a failure of the setup (unreadable header, …)
        cacheable = r["a.exit"] == 1 and "error:" in log and "fatal error: /" not in log
        return None, log or f"g++ failed (exit {r['a.exit']}, signal {r['a.sig']})", cacheable
    finally: shutil.rmtree(work, ignore_errors=True)


def compile_cpp(source: str | bytes, include_dirs=(), extra_key: bytes = b"") -> Program:
    "A cached binary for `source` (compiled once per distinct source+flags+compiler+headers, across processes)."
    src = source.encode() if isinstance(source, str) else source
    h = hashlib.sha256()
    for part in (b"cpp", " ".join(CXX_FLAGS + EXTRA_FLAGS).encode(), _compiler_id().encode(), extra_key, src):
        h.update(part + b"\0")
    key = h.hexdigest()
    cache = cache_dir()
    binary, ce = cache / "bin" / key, cache / "ce" / f"{key}.log"
    with _key_lock(key):
        for hit in (binary, ce):
            try: os.utime(hit)                        # least recently used goes first
            except OSError: continue
            if hit is binary: return Program("cpp", binary, static_mb=elf_static_mb(binary))
            return Program("cpp", None, ce.read_text(errors="replace"), ok=False)
        slot = SLOTS.acquire()
        try: built, log, cacheable = _run_gxx(src, list(include_dirs), slot)
        finally: SLOTS.release(slot)
        if built is None:
            if cacheable:
                _atomic_write(ce, log.encode())
                _evict(cache)
            return Program("cpp", None, log, ok=False)
        if os.geteuid() == 0: os.chown(built, 0, 0)
        os.chmod(built, 0o755)
        os.replace(built, binary)
        shutil.rmtree(built.parent, ignore_errors=True)
        _evict(cache, keep=binary)
        return Program("cpp", binary, log, static_mb=elf_static_mb(binary))


_evict_lock = threading.Lock()


def _evict(cache: Path, keep: Path | None = None, cap_mb: float | None = None):
    "Remove the least recently used binaries and logs until the cache holds at most `cap_mb` (CACHE_MB)."
    cap = int((CACHE_MB if cap_mb is None else cap_mb) * (1 << 20))
    with _evict_lock:
        files = []
        for sub in ("bin", "ce"):
            try:
                with os.scandir(cache / sub) as it:
                    for e in it:
                        if e.name.startswith("."): continue
                        try: st = e.stat(follow_symlinks=False)
                        except OSError: continue
                        files.append((st.st_mtime, st.st_size, Path(e.path)))
            except OSError: continue
        total = sum(f[1] for f in files)
        if total <= cap: return
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= cap: break
            if keep is not None and path == keep: continue
            try: path.unlink()
            except OSError: continue
            total -= size


def check_python(source: str) -> Program:
    "Syntax check in-process; the file itself is written by the judge."
    try: compile(source, "main.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OverflowError, RecursionError, MemoryError) as e:
        import traceback
        return Program("python", None, "".join(traceback.format_exception_only(type(e), e))[-LOG_CHARS:], ok=False)
    return Program("python", None)


def needs_testlib(source: bytes) -> bool: return bool(_TESTLIB.search(source))


def testlib_dir(explicit=None, near: Path | None = None) -> Path | None:
    "The directory holding testlib.h: next to the source, else the argument, else $FUNCTIONCALL_TESTLIB."
    if near is not None and (Path(near) / "testlib.h").is_file(): return Path(near)
    for d in (explicit, os.environ.get("FUNCTIONCALL_TESTLIB")):
        if not d: continue
        if not (Path(d) / "testlib.h").is_file(): raise TestlibMissing(f"no testlib.h in the testlib directory {d}")
        return Path(d)
    return None


def compile_aux(source_path: Path | None, source: bytes | None = None, testlib=None, what="checker") -> Path:
    "Compile a checker or interactor (testlib when it includes it); raises JudgeError when that fails."
    src = source if source is not None else Path(source_path).read_bytes()
    incs, extra = [], b""
    if needs_testlib(src):
        d = testlib_dir(testlib, Path(source_path).parent if source_path else None)
        if d is None:
            raise TestlibMissing(f"the {what} {source_path or ''} includes testlib.h: set FUNCTIONCALL_TESTLIB to a "
                                 "directory holding testlib.h (github.com/MikeMirzayanov/testlib) or pass testlib_dir=")
        incs, extra = [d], hashlib.sha256((d / "testlib.h").read_bytes()).digest()
    prog = compile_cpp(src, incs, extra)
    if not prog.ok: raise JudgeError(f"the {what} failed to compile:\n{prog.log}")
    return prog.path

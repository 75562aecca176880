"""The sandbox: bubblewrap (or our own namespaces) around `fcbox`, a small session server that runs untrusted
programs one at a time, each in its own cgroup, with rlimits, a seccomp filter, an unprivileged uid, a fresh work
dir and a wall clock.

Isolation levels, strongest first (reported in `Verdict.isolation`, with "+cgroup1"/"+cgroup2" appended when every
run had its own cgroup; without the suffix the limits are rlimits per process):
- "bwrap": bubblewrap as root: new mount/pid/net/ipc/uts namespaces, only system dirs visible (read-only),
  a fresh tmpfs work dir per run, /proc showing only the program's own processes, empty environment, programs run
  as an unprivileged uid of their slot.
- "bwrap-userns": bubblewrap as an ordinary user: the same namespaces, but everything runs as that user.
- "namespaces": no bubblewrap, but root: fcbox builds new mount/pid/net/ipc/uts namespaces itself, a minimal /dev,
  hides home, temp and project dirs behind empty tmpfs mounts, runs programs as the slot uid.
- "rlimits": no namespaces at all: rlimits, the seccomp filter, an empty environment, a process group and (as root)
  the slot uid. Only when asked for explicitly: `auto` refuses to judge when no isolating level works.
`FUNCTIONCALL_SANDBOX=auto|bwrap|namespaces|rlimits` forces a level (auto: the strongest that works here).
No level ever runs a program as uid 0: started as root, every level drops to the slot uid.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import cgroup
from .verdict import JudgeError

__all__ = ["cache_dir", "work_root", "helper_path", "sandbox_mode", "isolation_level", "Slots", "SLOTS", "Layout",
           "Session", "SandboxError"]

HERE = Path(__file__).resolve().parent
UID_BASE = int(os.environ.get("FUNCTIONCALL_UID_BASE", "60000"))
UID_SLOTS = 1024                 # machine-wide uid pairs: 60000 + 2k (program), 60001 + 2k (checker/interactor)
BOX_BYTES = 256 << 20            # tmpfs of a session's work dirs


class SandboxError(JudgeError):
    """The sandbox could not be started."""


def cache_dir() -> Path:
    "Where compiled programs and the helper live: $FUNCTIONCALL_CACHE, else ~/.cache/functioncall."
    d = os.environ.get("FUNCTIONCALL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "functioncall")
    p = Path(d)
    for sub in ("bin", "ce", "tmp"): (p / sub).mkdir(parents=True, exist_ok=True)
    return p


def work_root() -> Path:
    """Where a submission's temporary files live while it is judged: $FUNCTIONCALL_WORK, else
    /tmp/functioncall-<uid>: traversable (0711, not listable) so that at the rlimits level the slot uid can reach
    its own files, which the home-based cache would hide."""
    p = Path(os.environ.get("FUNCTIONCALL_WORK") or os.path.join(tempfile.gettempdir(), f"functioncall-{os.geteuid()}"))
    try: p.mkdir(mode=0o711, parents=True)
    except FileExistsError: pass
    st = os.lstat(p)
    if not os.path.isdir(p) or os.path.islink(p) or st.st_uid != os.geteuid():
        raise SandboxError(f"{p} is not a directory of ours: refusing to use it")
    if st.st_mode & 0o7777 != 0o711: os.chmod(p, 0o711)
    return p


def work_dir(prefix: str) -> Path:
    "A fresh private directory under `work_root()`, traversable (0711) by the slot uid."
    p = Path(tempfile.mkdtemp(prefix=prefix, dir=work_root()))
    os.chmod(p, 0o711)
    return p


_helper_lock = threading.Lock()
_helper: dict[str, Path] = {}


def helper_path() -> Path:
    "The compiled `fcbox` helper (built once per source version, cached)."
    src = (HERE / "fcbox.c").read_bytes()
    key = hashlib.sha256(src).hexdigest()[:16]
    cache = cache_dir()
    with _helper_lock:
        if key in _helper and _helper[key].exists(): return _helper[key]
        out = cache / f"fcbox-{key}"
        if not out.exists():
            cc = shutil.which("gcc") or shutil.which("cc")
            if cc is None: raise SandboxError("functioncall needs gcc (or cc) to build its sandbox helper")
            tmp = cache / "tmp" / f"fcbox-{key}-{os.getpid()}-{threading.get_ident()}"
            r = subprocess.run([cc, "-O2", "-o", str(tmp), str(HERE / "fcbox.c")], capture_output=True, text=True)
            if r.returncode: raise SandboxError(f"building the sandbox helper failed:\n{r.stderr[-4000:]}")
            os.chmod(tmp, 0o755)
            os.replace(tmp, out)
            for old in cache.glob("fcbox-*"):              # earlier versions, unused for a day
                if old != out and time.time() - old.stat().st_mtime > 86400: old.unlink(missing_ok=True)
        _helper[key] = out
        return out


_mode_lock = threading.Lock()
_works: dict[str, bool] = {}


def _bwrap_works(bwrap: str) -> bool:
    "Whether bubblewrap can build a sandbox here (it cannot, e.g., where user namespaces are disabled)."
    with _mode_lock:
        if bwrap not in _works:
            try:
                r = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--die-with-parent",
                                    "/bin/true"], capture_output=True, timeout=30, env={})
                _works[bwrap] = r.returncode == 0
            except (OSError, subprocess.TimeoutExpired): _works[bwrap] = False
        return _works[bwrap]


def _namespaces_work() -> bool:
    "Whether fcbox can build its own namespaces here (root with CAP_SYS_ADMIN, e.g. not in a locked container)."
    with _mode_lock:
        if "namespaces" not in _works:
            try:
                Session([], mode="namespaces").close()
                _works["namespaces"] = True
            except (SandboxError, OSError): _works["namespaces"] = False
        return _works["namespaces"]


def sandbox_mode() -> str:
    """'bwrap', 'namespaces' (fcbox's own, as root) or 'rlimits' (no isolation but rlimits, seccomp and an empty
    environment), chosen by FUNCTIONCALL_SANDBOX: auto (default: the strongest isolating level that works; refuses
    when none does), bwrap, namespaces (alias fallback) or rlimits (alias none: must be asked for)."""
    want = os.environ.get("FUNCTIONCALL_SANDBOX", "auto").strip().lower() or "auto"
    if want in ("rlimits", "none"): return "rlimits"
    if want in ("namespaces", "fallback"):
        if os.geteuid() != 0:
            raise SandboxError("FUNCTIONCALL_SANDBOX=namespaces needs root; use bwrap, or rlimits to accept no isolation")
        return "namespaces"
    if want not in ("auto", "bwrap"):
        raise SandboxError(f"FUNCTIONCALL_SANDBOX={want!r}: use auto, bwrap, namespaces or rlimits")
    bwrap = shutil.which("bwrap")
    if bwrap and _bwrap_works(bwrap): return "bwrap"
    if want == "bwrap": raise SandboxError("FUNCTIONCALL_SANDBOX=bwrap but bubblewrap is missing or cannot run here")
    if os.geteuid() == 0 and _namespaces_work(): return "namespaces"
    raise SandboxError("no isolating sandbox works here (bubblewrap is " + ("unusable" if bwrap else "not installed") +
                       (", and fcbox cannot create namespaces" if os.geteuid() == 0 else ", and we are not root") +
                       "): refusing to run untrusted code. Install bubblewrap, or set FUNCTIONCALL_SANDBOX=rlimits "
                       "to accept rlimits-only isolation.")


def isolation_level(mode: str | None = None) -> str:
    "The level a sandbox of `mode` reaches here, with '+cgroupN' when runs get their own cgroups."
    mode = mode or sandbox_mode()
    base = ("bwrap" if os.geteuid() == 0 else "bwrap-userns") if mode == "bwrap" else mode
    try: cs = cgroup.setup()
    except ValueError as e: raise SandboxError(str(e)) from None
    return f"{base}+{cs.name}" if cs else base


class Slots:
    "Parallel run slots (one per core); each owns a machine-wide unique pair of sandbox uids while in use."
    def __init__(self, n: int | None = None):
        self.n = n or int(os.environ.get("FUNCTIONCALL_SLOTS", "0") or 0) or os.cpu_count() or 1
        self.free = list(range(self.n))
        self.cond = threading.Condition()
        self.uids: dict[int, int] = {}
        self.lock_fds: list[int] = []

    def acquire(self, block: bool = True) -> int | None:
        "A free slot number, waiting for one when `block` (else None)."
        with self.cond:
            while not self.free:
                if not block: return None
                self.cond.wait()
            return self.free.pop(0)

    def release(self, slot: int):
        with self.cond:
            self.free.append(slot)
            self.free.sort()
            self.cond.notify()

    def resize(self, n: int):
        "Change the number of parallel runs (waits until no slot is in use)."
        with self.cond:
            while len(self.free) < self.n: self.cond.wait()
            self.n, self.free = n, list(range(n))
            self.cond.notify_all()

    def uid(self, slot: int) -> int | None:
        "The program uid of `slot` (its checker/interactor uid is one more); None when not root."
        if os.geteuid() != 0: return None
        with self.cond:
            if slot not in self.uids: self.uids[slot] = UID_BASE + 2 * self._claim()
            return self.uids[slot]

    def _claim(self) -> int:
        "A uid pair index no other process holds (flock held for this process's lifetime)."
        d = Path("/tmp/functioncall-uids")              # one place for every process of the machine
        d.mkdir(mode=0o700, exist_ok=True)
        if d.stat().st_uid != os.geteuid() or d.is_symlink(): raise SandboxError(f"{d} is not ours: refusing to use it")
        for k in range(UID_SLOTS):
            fd = os.open(d / f"{k}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.lock_fds.append(fd)
                return k
            except OSError: os.close(fd)
        raise SandboxError(f"all {UID_SLOTS} sandbox uids are in use")


SLOTS = Slots()


@dataclass(frozen=True)
class Layout:
    "Where things are inside the sandbox; bwrap builds a fresh root, the fallback lives under /tmp/.fcbox."
    root: str

    @property
    def box(self): return f"{self.root}/box"        # tmpfs holding each run's fresh work dir
    @property
    def judge(self): return f"{self.root}/judge"    # 0700 root: programs cannot look inside
    @property
    def data(self): return f"{self.judge}/data"     # test inputs and answers (read-only)
    @property
    def io(self): return f"{self.judge}/io"         # outputs written through the fds fcbox opens
    @property
    def bin(self): return f"{self.judge}/bin"       # checker and interactor binaries
    @property
    def sol(self): return f"{self.root}/sol"        # the solution (binary or main.py), read-only
    @property
    def src(self): return f"{self.root}/src"        # compile: sources
    @property
    def out(self): return f"{self.root}/out"        # compile: output dir (writable by the slot uid)


BWRAP_LAYOUT, FALLBACK_LAYOUT = Layout(""), Layout("/tmp/.fcbox")
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime")


@functools.cache
def python_prefix() -> Path:
    "The install prefix of the running interpreter (made visible read-only inside the sandbox)."
    return Path(os.path.realpath(sys.base_prefix))


def _under(p: Path, roots) -> bool: return any(p == Path(r) or Path(r) in p.parents for r in roots)


def _bwrap_supports_size(bwrap: str) -> bool:
    try: return "--size" in subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired): return False


_size_ok: dict[str, bool] = {}


def _ancestors(path: str) -> list[str]:
    "Proper ancestors of an absolute path, outermost first ('/a/b/c' -> ['/a', '/a/b'])."
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def _bwrap_argv(binds, helper: Path, cg: list[str]) -> list[str]:
    "bubblewrap command line: system dirs read-only, fresh /box tmpfs, /judge 0700, then `binds`."
    bwrap = shutil.which("bwrap")
    if bwrap not in _size_ok: _size_ok[bwrap] = _bwrap_supports_size(bwrap)
    # with cgroups, each run's process enters its own cgroup namespace after joining its cgroup (fcbox does it)
    a = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
         *([] if cg else ["--unshare-cgroup-try"]), "--die-with-parent", "--new-session", "--clearenv"]
    made = {"/"}
    def mount(flag, src, dst):
        for d in _ancestors(dst):        # bwrap would create missing parents 0700: make them traversable
            if d not in made and not d.startswith("/judge"): a.extend(["--perms", "0755", "--dir", d]); made.add(d)
        a.extend([flag, str(src), dst])
    for d in _SYSTEM:
        if os.path.islink(d): a += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d): mount("--ro-bind", d, d)
    for f in _ETC: mount("--ro-bind-try", f, f)
    py = python_prefix()
    if not _under(py, _SYSTEM): mount("--ro-bind", py, str(py))
    a += ["--proc", "/proc", "--dev", "/dev", "--perms", "0755"] + (["--size", str(BOX_BYTES)] if _size_ok[bwrap] else [])
    a += ["--tmpfs", "/box", "--perms", "0700", "--dir", "/judge"]
    for src, dst, ro in binds: mount("--ro-bind" if ro else "--bind", src, dst)
    mount("--ro-bind", helper, "/fc/fcbox")
    root = os.geteuid() == 0
    a += ["--chdir", "/", "/fc/fcbox", "--box", "/box", "--pidns", "--level", "bwrap" if root else "bwrap-userns", *cg]
    if root: a += ["--hidepid"]
    return a


_VISIBLE = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "sys", "var"}


def _masks() -> list[str]:
    """What the fallback hides (tmpfs over dirs, /dev/null over files): every top-level entry but the
    system's, temp dirs, home, the project and the cache."""
    cands = [os.path.join("/", e) for e in os.listdir("/") if e not in _VISIBLE]
    cands += ["/var/tmp", "/dev/shm", "/var/lib", "/var/log", "/var/mail", "/var/spool", "/var/backups",
              os.path.expanduser("~"), os.getcwd(), str(HERE.parent), str(cache_dir()), tempfile.gettempdir()]
    out = []
    for r in sorted({os.path.realpath(c) for c in cands if not os.path.islink(c)}, key=lambda p: (len(p), p)):
        if not os.path.exists(r) or r == "/" or _under(Path(r), _SYSTEM + tuple(out)): continue
        if any(_under(Path(s), [r]) for s in _SYSTEM): continue    # an ancestor of /usr & co.
        out.append(r)
    return out


def _fallback_argv(binds, helper: Path, cg: list[str]) -> list[str]:
    "fcbox building its own namespaces (root): tmpfs masks over user dirs, binds, a new /proc and /dev."
    L = FALLBACK_LAYOUT
    a = [str(helper), "--unshare", "--box", L.box, "--dev", *cg]
    for m in _masks(): a += ["--mask", m]
    a += ["--tmpfs", L.box, str(BOX_BYTES), "--dir", L.judge, "700"]
    py = python_prefix()
    if not _under(py, _SYSTEM): a += ["--ro-bind", str(py), str(py)]
    for src, dst, ro in binds: a += ["--ro-bind" if ro else "--bind", str(src), dst]
    return a


def _direct_root(binds) -> str:
    "rlimits level (no mount namespace): a host dir whose entries are symlinks to the bound paths."
    root = str(work_dir("fcbox-"))
    for d in ("box", "judge"): os.mkdir(os.path.join(root, d), 0o700)
    for src, dst, _ in binds:
        p = os.path.join(root, dst.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink(os.path.abspath(src), p)
    return root


class Session:
    "One sandbox; runs commands one after another (a slot's programs never run concurrently)."
    def __init__(self, binds: list[tuple], mode: str | None = None, log_dir: str | None = None):
        self.mode = mode or sandbox_mode()
        helper, self._direct, self.cg = helper_path(), None, None
        try: cs = cgroup.setup()
        except ValueError as e: raise SandboxError(str(e)) from None
        if cs is not None:
            try: self.cg = cgroup.SessionCgroup(cs)
            except OSError as e: raise SandboxError(f"cannot create the session's cgroup: {e}") from None
        cg = self.cg.argv() if self.cg else []
        try:
            if self.mode == "bwrap": self.layout, argv = BWRAP_LAYOUT, _bwrap_argv(binds, helper, cg)
            elif self.mode == "namespaces":
                self.layout = FALLBACK_LAYOUT
                argv = _fallback_argv([(s, self.layout.root + d, ro) for s, d, ro in binds], helper, cg)
            else:
                self._direct = _direct_root(binds)
                self.layout = Layout(self._direct)
                argv = [str(helper), "--box", self.layout.box, "--level", "rlimits", *cg]
            self._err = tempfile.TemporaryFile(dir=log_dir)
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err,
                                         env={}, close_fds=True, pass_fds=self.cg.pass_fds if self.cg else (),
                                         start_new_session=True)
        except BaseException:
            if self.cg: self.cg.close()
            if self._direct: shutil.rmtree(self._direct, ignore_errors=True)
            raise
        if self.cg:                                  # fcbox holds them now
            for f in self.cg.pass_fds: os.close(f)
            self.cg.fds = [-1] * len(self.cg.fds)
        ready = select.select([self.proc.stdout], [], [], 60)[0]
        hello = self.proc.stdout.readline().decode() if ready else ""
        if not hello.startswith("ready"):
            err = self._stderr()
            self.kill()
            self.close()
            raise SandboxError(f"sandbox failed to start ({self.mode}): {err}")
        self.info = dict(kv.split("=", 1) for kv in hello.split()[1:])
        cgv = self.info.get("cgroup", "none")
        self.cgroup = cgv != "none"
        self.isolation = self.info.get("level", "rlimits") + (f"+cgroup{cgv[1:]}" if self.cgroup else "")

    def uid(self, slot: int) -> int | None:
        "The uid programs of `slot` run as here (None when not root: they run as the judge's own user)."
        return SLOTS.uid(slot)

    def run(self, a: dict, b: dict | None = None, pipe: bool = False, timeout: float | None = None) -> dict:
        """Run process `a` (and `b`, wired to it when `pipe`); returns the measurements keyed 'a.exit', 'b.cpu_ms', …
        `timeout` is a last-resort guard on the helper itself (it enforces the programs' limits)."""
        toks = [] if not pipe else ["pipe=1"]
        for pre, spec in (("a.", a), ("b.", b or {})):
            for k, v in spec.items():
                for x in (v if isinstance(v, (list, tuple)) else [v]):
                    s = f"{pre}{k}={x}"
                    if "\0" in s: raise ValueError(f"NUL byte in sandbox argument {k}")
                    toks.append(s)
        try:
            self.proc.stdin.write(("\0".join(toks) + "\0\0").encode())
            self.proc.stdin.flush()
            if timeout is not None and not select.select([self.proc.stdout], [], [], timeout)[0]:
                self.kill()
                raise SandboxError(f"sandbox helper did not answer within {timeout:.0f}s")
            line = self.proc.stdout.readline().decode()
        except (BrokenPipeError, OSError, ValueError) as e: raise SandboxError(f"sandbox died: {e}") from None
        if not line: raise SandboxError(f"sandbox died (exit {self.proc.poll()}): {self._stderr()}")
        if line.startswith("error"): raise SandboxError(f"sandbox rejected a command: {line.strip()}")
        return {k: int(v) for k, v in (kv.split("=", 1) for kv in line.split())}

    def _stderr(self) -> str:
        try:
            self._err.seek(0)
            return self._err.read()[-2000:].decode("utf-8", "replace")
        except (OSError, ValueError): return ""

    def kill(self):
        try: os.killpg(self.proc.pid, 9)
        except OSError: pass

    def close(self):
        "End the sandbox: EOF on its command pipe, then SIGKILL if it lingers."
        p = self.proc
        if p.poll() is None:
            try: p.stdin.close()
            except OSError: pass
            try: p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
                p.wait()
        for f in (p.stdin, p.stdout):
            try: f.close()
            except OSError: pass
        self._err.close()
        if self.cg: self.cg.close()
        if self._direct: shutil.rmtree(self._direct, ignore_errors=True)

    def __enter__(self): return self
    def __exit__(self, *exc): self.close()

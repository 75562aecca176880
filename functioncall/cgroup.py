"""Per-submission resource control with cgroups (v1: memory, pids, cpuacct, freezer; or v2).

The judge makes one cgroup per sandbox session (`SessionCgroup`) and hands its directories to `fcbox` as open fds;
fcbox makes one child cgroup per run (program, checker, interactor, compiler) in it, with a memory limit that
counts tmpfs, memfd and every child process, no swap and a pids limit, reads CPU time and peak memory of the whole
tree from it, decides MLE from its OOM events and kills everything through it.

`FUNCTIONCALL_CGROUP=auto|v1|v2|off` (auto: v2 when the memory controller is on the unified hierarchy, else v1);
`FUNCTIONCALL_CGROUP_ROOT=DIR` puts the sessions under DIR (v2: a delegated cgroup) instead of
`<own cgroup>/functioncall`. On v2 outside the root cgroup, the judge process moves itself into a leaf
(`<own cgroup>/functioncall-judge-<pid>`) so that its own cgroup may enable controllers for its children, as
container judges do.
"""
from __future__ import annotations

import atexit
import errno
import itertools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupSetup", "SessionCgroup", "setup", "V1_CONTROLLERS"]

V1_CONTROLLERS = ("memory", "pids", "cpuacct", "freezer")     # the order fcbox's --cgroup1 expects
_REQUIRED_V1 = ("memory", "pids", "cpuacct")


@dataclass
class CgroupSetup:
    "Where session cgroups go: version 1 (one base dir per controller, None when missing) or 2 (one base dir)."
    version: int
    bases: tuple            # v1: Path|None per V1_CONTROLLERS; v2: (Path,)

    @property
    def name(self) -> str: return f"cgroup{self.version}"


def _mounts() -> list[tuple[str, str, set]]:
    "(mount point, fs type, super options) of every cgroup mount."
    out = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                parts, rparts = left.split(), right.split()
                if len(rparts) >= 3 and rparts[0] in ("cgroup", "cgroup2"):
                    out.append((parts[4].replace("\\040", " "), rparts[0], set(rparts[2].split(","))))
    except OSError: pass
    return out


def _own_paths() -> dict[str, str]:
    "Controller (or '' for v2) -> this process's cgroup path."
    out = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, ctrls, path = line.rstrip("\n").split(":", 2)
                for c in (ctrls.split(",") if ctrls else [""]): out[c] = path
    except (OSError, ValueError): pass
    return out


def _writable(p: Path) -> bool: return os.access(p, os.W_OK | os.X_OK)


def _v1() -> CgroupSetup | None:
    own, mounts = _own_paths(), _mounts()
    root = os.environ.get("FUNCTIONCALL_CGROUP_ROOT")
    bases = []
    for c in V1_CONTROLLERS:
        mp = next((m for m, t, opts in mounts if t == "cgroup" and c in opts), None)
        if mp is None or c not in own:
            bases.append(None)
            continue
        base = Path(mp) / root.strip("/") if root else Path(mp + own[c].rstrip("/")) / "functioncall"
        try:
            base.mkdir(parents=True, exist_ok=True)
            bases.append(base if _writable(base) else None)
        except OSError: bases.append(None)
    if any(b is None for b, c in zip(bases, V1_CONTROLLERS) if c in _REQUIRED_V1): return None
    b = bases[0]
    if not (b / "memory.limit_in_bytes").exists(): return None
    return CgroupSetup(1, tuple(bases))


def _enable(cg: Path, ctrls=("memory", "pids")) -> bool:
    "Enable controllers for the children of `cg` (v2)."
    have = set((cg / "cgroup.subtree_control").read_text().split())
    if all(c in have for c in ctrls): return True
    try: (cg / "cgroup.subtree_control").write_text(" ".join("+" + c for c in ctrls if c not in have))
    except OSError: return False
    return True


def _v2() -> CgroupSetup | None:
    mp = next((m for m, t, _ in _mounts() if t == "cgroup2"), None)
    if mp is None: return None
    own = _own_paths().get("", "/")
    mine = Path(mp + own.rstrip("/")) if own != "/" else Path(mp)
    root = os.environ.get("FUNCTIONCALL_CGROUP_ROOT")
    try:
        if not {"memory", "pids"} <= set((mine / "cgroup.controllers").read_text().split()): return None
        if root: base = Path(mp) / root.strip("/")
        else:
            if not _enable(mine):
                if mine == Path(mp): return None
                leaf = mine / f"functioncall-judge-{os.getpid()}"         # no processes in a cgroup with controllers
                leaf.mkdir(exist_ok=True)
                (leaf / "cgroup.procs").write_text(str(os.getpid()))
                if not _enable(mine): return None
            base = mine / "functioncall"
        base.mkdir(exist_ok=True)
        if not _enable(base): return None
    except OSError: return None
    return CgroupSetup(2, (base,))


_lock = threading.Lock()
_setup: dict[str, CgroupSetup | None] = {}


def setup() -> CgroupSetup | None:
    "The cgroup arrangement for this process (cached), or None when cgroups cannot be used here."
    want = os.environ.get("FUNCTIONCALL_CGROUP", "auto").strip().lower() or "auto"
    if want not in ("auto", "v1", "v2", "off"):
        raise ValueError(f"FUNCTIONCALL_CGROUP={want!r}: use auto, v1, v2 or off")
    if want == "off": return None
    with _lock:
        if want not in _setup:
            mounts = _mounts()
            v2_mem = any(t == "cgroup2" for _, t, _ in mounts) and not any(
                t == "cgroup" and "memory" in o for _, t, o in mounts)
            order = {"auto": (_v2, _v1) if v2_mem else (_v1, _v2), "v1": (_v1,), "v2": (_v2,)}[want]
            got = None
            for f in order:
                if (got := f()) is not None: break
            if got is not None:
                _sweep(got)
                atexit.register(_drop_bases, got)
            _setup[want] = got
        return _setup[want]


def _drop_bases(cs: CgroupSetup):
    "At exit: remove the base dirs when no session is left in them (another judge process may still use them)."
    for base in cs.bases:
        if base is None: continue
        try: base.rmdir()
        except OSError: pass


def _pid_alive(pid: int) -> bool:
    try: os.kill(pid, 0)
    except ProcessLookupError: return False
    except PermissionError: return True
    return True


def _sweep(cs: CgroupSetup):
    "Remove session cgroups left behind by judge processes that died."
    for base in cs.bases:
        if base is None: continue
        try: entries = list(base.iterdir())
        except OSError: continue
        for d in entries:
            parts = d.name.split("-")
            if len(parts) == 3 and parts[0] == "fc" and parts[1].isdigit() and not _pid_alive(int(parts[1])):
                _remove_tree(d, cs.version)


def _procs(d: Path) -> list[int]:
    try: return [int(x) for x in (d / "cgroup.procs").read_text().split()]
    except (OSError, ValueError): return []


def _kill(d: Path, version: int, freezer: Path | None = None):
    "SIGKILL everything in cgroup `d` (v2: cgroup.kill; v1: freeze, kill, thaw)."
    for _ in range(200):
        pids = _procs(d)
        if not pids: return
        if version == 2:
            try:
                (d / "cgroup.kill").write_text("1")
            except OSError:
                for p in pids:
                    try: os.kill(p, 9)
                    except OSError: pass
        else:
            try:
                if freezer is not None: (freezer / "freezer.state").write_text("FROZEN")
            except OSError: freezer = None
            for p in _procs(d):
                try: os.kill(p, 9)
                except OSError: pass
            if freezer is not None:
                try: (freezer / "freezer.state").write_text("THAWED")
                except OSError: pass
        time.sleep(0.005)


def _remove_tree(d: Path, version: int, freezer: Path | None = None):
    "Remove cgroup `d` and its children, killing what still runs in them."
    try: kids = [k for k in d.iterdir() if k.is_dir()]
    except OSError: return
    for k in kids: _remove_tree(k, version, (freezer / k.name) if freezer else None)
    for _ in range(50):
        try:
            d.rmdir()
            return
        except FileNotFoundError: return
        except OSError as e:
            if e.errno != errno.EBUSY: return
            _kill(d, version, freezer)


_counter = itertools.count(1)


class SessionCgroup:
    "The cgroup(s) of one sandbox session; fcbox gets their directory fds and makes one child per run."
    def __init__(self, cs: CgroupSetup):
        self.cs = cs
        self.name = f"fc-{os.getpid()}-{next(_counter)}"
        self.dirs: list[Path | None] = []
        self.fds: list[int] = []
        try:
            for base in cs.bases:
                if base is None:
                    self.dirs.append(None); self.fds.append(-1)
                    continue
                d = base / self.name
                for attempt in range(5):       # another judge process may remove an empty base at its exit
                    try:
                        d.mkdir()
                        break
                    except FileNotFoundError:
                        if attempt == 4: raise
                        base.mkdir(parents=True, exist_ok=True)
                        if cs.version == 2: _enable(base)
                self.dirs.append(d)
                if cs.version == 2 and not _enable(d): raise OSError(f"cannot enable controllers in {d}")
                self.fds.append(os.open(d, os.O_RDONLY | os.O_DIRECTORY))
        except BaseException:
            self.close()
            raise

    def argv(self) -> list[str]:
        "fcbox options handing over the directories."
        if self.cs.version == 2: return ["--cgroup2", str(self.fds[0])]
        return ["--cgroup1", ",".join(str(f) for f in self.fds)]

    @property
    def pass_fds(self) -> tuple: return tuple(f for f in self.fds if f >= 0)

    def close(self):
        "Kill whatever is left (a helper that died mid-run), remove the cgroups."
        for f in self.fds:
            if f >= 0:
                try: os.close(f)
                except OSError: pass
        self.fds = [-1] * len(self.fds)
        frz = None
        if self.cs.version == 1 and len(self.dirs) > 3: frz = self.dirs[3]
        for i, d in enumerate(self.dirs):
            if d is not None: _remove_tree(d, self.cs.version, frz if i != 3 else None)
        self.dirs = []

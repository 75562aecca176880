"""functioncall isolation: each rule is attacked by a program that prints SAFE only when the attack failed; the test
also checks from outside that no harm was done, the judge is alive and no process was left behind. Every attack runs
under bubblewrap and under the fallback (FUNCTIONCALL_SANDBOX=namespaces)."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import functioncall as fc
from functioncall.judge import NPROC
from functioncall.sandbox import SLOTS

ROOT = os.geteuid() == 0
SAFE = [{"input": "", "output": "SAFE"}]
MODES = [pytest.param("bwrap", marks=pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")),
         pytest.param("namespaces", marks=pytest.mark.skipif(not ROOT, reason="the fallback namespaces need root"))]
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")


@pytest.fixture(params=MODES)
def fc_mode(request, monkeypatch):
    "Runs the test once per sandbox level."
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", request.param)
    return request.param


def _procs():
    "pid -> (uid, cmdline) of every process on the machine."
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit(): continue
        try:
            uid = os.stat(f"/proc/{d}").st_uid
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out[int(d)] = (uid, cmd)
        except OSError: pass
    return out


def assert_no_strays(marker=None):
    "No process runs as one of this process's sandbox uids, or with `marker` in its command line."
    ours = set(SLOTS.uids.values()) | {u + 1 for u in SLOTS.uids.values()}
    left = [(p, u, c) for p, (u, c) in _procs().items() if u in ours or (marker and marker in c)]
    assert not left, left


CGROUPS = ROOT and fc.cgroup_setup() is not None


def judge_safe(code, lang="python", tests=SAFE, **kw):
    kw.setdefault("time_limit", 2.0)
    v = fc.judge(code, lang, tests, **kw)
    assert v.isolation.split("+")[0] == {"bwrap": "bwrap" if ROOT else "bwrap-userns",
                                         "namespaces": "namespaces"}[os.environ["FUNCTIONCALL_SANDBOX"]]
    assert ("+cgroup" in v.isolation) == CGROUPS, v.isolation
    return v


def test_network_is_unreachable(fc_mode):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0)); srv.listen(5); srv.settimeout(0.2)
    port, hits = srv.getsockname()[1], []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try: hits.append(srv.accept())
            except OSError: pass
    t = threading.Thread(target=accept, daemon=True); t.start()
    code = f"""
import socket
ok = True
for host in ("127.0.0.1", "::1", "10.0.2.2", "1.1.1.1"):
    try:
        socket.create_connection((host, {port}), timeout=1).close(); ok = False
    except OSError: pass
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("8.8.8.8", 53)); ok = False
except OSError: pass
print("SAFE" if ok else "CONNECTED")
"""
    try: v = judge_safe(code)
    finally: stop.set(); t.join(); srv.close()
    assert v.status == "AC", v.cases
    assert hits == []
    assert_no_strays()


def test_user_files_are_out_of_reach(fc_mode, tmp_path):
    secret = f"s3cret-{time.time_ns()}"
    mine = tmp_path / "secret.txt"                           # a file of the test (another temp dir)
    mine.write_text(secret); os.chmod(tmp_path, 0o755); os.chmod(mine, 0o644)
    other = Path(tempfile.mkdtemp()); os.chmod(other, 0o755)
    (other / "secret.txt").write_text(secret); os.chmod(other / "secret.txt", 0o644)
    home = Path.home() / f".fc_secret_{os.getpid()}"
    home.write_text(secret); os.chmod(home, 0o644)
    project = Path(fc.__file__).resolve()                    # the project's own source
    cache = fc.cache_dir()
    paths = [mine, other / "secret.txt", home, project, project.parent.parent / "setup.py", cache,
             "/judge/data/1.ans", "/tmp/.fcbox/judge/data/1.ans", "/etc/shadow", os.getcwd()]
    code = f"""
import os
found = []
for p in {[str(p) for p in paths]!r}:
    try:
        if os.path.isdir(p): found.append((p, os.listdir(p)))
        else:
            with open(p) as f: found.append((p, f.read(100)))
    except OSError: pass
found = [f for f in found if f[1]]
print("SAFE" if not found else found)
"""
    try: v = judge_safe(code)
    finally: home.unlink(); shutil.rmtree(other)
    assert v.status == "AC", v.cases


def test_environment_is_empty(fc_mode, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-do-not-leak")
    monkeypatch.setenv("HF_TOKEN", "hf-test-do-not-leak")
    code = """
import os, glob
leak = [k for k in os.environ if k not in ("PWD", "LC_CTYPE")]
for f in glob.glob("/proc/*/environ"):
    try:
        if b"do-not-leak" in open(f, "rb").read(): leak.append(f)
    except OSError: pass
print("SAFE" if not leak else leak)
"""
    v = judge_safe(code)
    assert v.status == "AC", v.cases


def test_only_stdio_is_inherited(fc_mode):
    code = """
import os
fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
print("SAFE" if fds[:3] == [0, 1, 2] and len(fds) <= 4 else fds)   # (+1: the listing itself)
"""
    v = judge_safe(code)
    assert v.status == "AC", v.cases


def test_writes_stay_in_the_fresh_temp_dir(fc_mode, tmp_path):
    os.chmod(tmp_path, 0o777)                                # even a world-writable dir of the test is out of reach
    tag = f"pwned-{time.time_ns()}"
    targets = [tmp_path / tag, Path.home() / tag, Path("/tmp") / tag, Path("/var/tmp") / tag, Path("/dev/shm") / tag,
               Path("/usr") / tag, Path(fc.__file__).resolve().parent / tag, fc.cache_dir() / tag, Path("/") / tag]
    code = f"""
import os
wrote = []
for p in {[str(t) for t in targets]!r}:
    try:
        with open(p, "w") as f: f.write("x")
        wrote.append(p)
    except OSError: pass
with open("scratch.txt", "w") as f: f.write("mine")                 # its own temp dir is writable
assert open("scratch.txt").read() == "mine" and os.getcwd() not in ("/", "/tmp")
print("SAFE" if not wrote else wrote)
"""
    v = judge_safe(code)
    assert v.status == "AC", v.cases
    assert not [t for t in targets if t.exists()]
    v2 = judge_safe("import os\nprint('SAFE' if not os.path.exists('scratch.txt') else 'STALE')")
    assert v2.status == "AC"                                   # every run gets a fresh dir


def test_cannot_signal_the_judge_or_other_processes(fc_mode):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        code = f"""
import os, signal
hit = []
for pid in ({os.getpid()}, {victim.pid}, 1, os.getppid()):
    try: os.kill(pid, signal.SIGKILL); hit.append(pid)
    except OSError: pass
print("SAFE" if not hit else hit)
"""
        v = judge_safe(code)
        assert v.status == "AC", v.cases
        v = judge_safe("import os, signal\nos.kill(-1, signal.SIGKILL)")          # kill everything it can
        assert v.status in ("RE", "MLE", "WA")
        assert victim.poll() is None                           # still running
        os.kill(os.getpid(), 0)                                # and so are we
    finally:
        victim.kill(); victim.wait()
    assert_no_strays()


def test_no_process_survives_its_verdict(fc_mode):
    marker = f"{317 + time.time_ns() % 1000}.{time.time_ns() % 1000003}"      # a unique sleep duration
    code = f"""
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "{marker}"])
    os._exit(0)
os.wait()
print("SAFE")
"""
    v = judge_safe(code)
    assert v.status == "AC", v.cases
    assert_no_strays(marker)


@needs_gxx
@pytest.mark.skipif(not ROOT, reason="per-slot uids need root")
def test_fork_bomb_is_capped_and_does_not_starve_other_slots(fc_mode):
    count = r"""
#include <cstdio>
#include <unistd.h>
int main() {
    int n = 0;
    for (int i = 0; i < 100000; i++) { pid_t p = fork(); if (p == 0) { pause(); _exit(0); } if (p < 0) break; n++; }
    printf("%d\n", n);
}
"""
    v = fc.judge(count, "cpp", [{"input": "", "output": "0"}], time_limit=2.0)
    assert v.status == "WA" and 0 < int(v.cases[0].output) < NPROC <= 128, v.cases   # RLIMIT_NPROC per slot uid
    assert_no_strays()
    bomb = "#include <unistd.h>\nint main() { for (;;) fork(); }"
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("v", fc.judge(bomb, "cpp", SAFE, time_limit=1.0)))
    t.start()
    time.sleep(0.3)
    other = fc.judge("print('SAFE')", "python", SAFE, time_limit=10.0)     # another slot keeps working
    t.join()
    assert other.status == "AC", other.cases
    assert box["v"].status in ("TLE", "RE", "MLE", "WA")
    assert_no_strays()


def test_huge_files_are_bounded(fc_mode):
    code = """
chunk = b"x" * (1 << 20)
with open("big.bin", "wb") as f:
    for _ in range(4096): f.write(chunk)                  # 4 GiB if nothing stopped it
print("SAFE")
"""
    v = judge_safe(code, output_limit_mb=8)
    assert v.status == "RE" and ("File too large" in v.cases[0].message or "file size" in v.cases[0].message), v.cases
    v = judge_safe("import sys\nsys.stdout.buffer.write(b'x' * (64 << 20))", output_limit_mb=8)
    assert v.status == "OLE", v.cases
    assert_no_strays()


def test_fallback_is_selected_by_the_environment(monkeypatch):
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", "namespaces")
    if ROOT: assert fc.sandbox_mode() == fc.isolation_level().split("+")[0] == "namespaces"
    else:
        with pytest.raises(fc.SandboxError, match="needs root"): fc.sandbox_mode()
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", "none")
    assert fc.sandbox_mode() == "rlimits"
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", "bogus")
    with pytest.raises(fc.SandboxError, match="FUNCTIONCALL_SANDBOX"): fc.sandbox_mode()


def test_rlimits_level_still_judges(monkeypatch):
    "The weakest level (no namespaces, explicitly requested) keeps limits, verdicts and an empty environment."
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", "rlimits")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-do-not-leak")
    v = fc.judge("import os\nprint('SAFE' if 'OPENAI_API_KEY' not in os.environ and os.getuid() and os.geteuid() "
                 "else 'LEAK')", "python", SAFE)
    assert (v.status, v.isolation.split("+")[0]) == ("AC", "rlimits"), v         # never uid 0, even here
    assert fc.judge("while True: pass", "python", SAFE, time_limit=0.3).status == "TLE"
    assert fc.judge("a = [0] * 10**9", "python", SAFE, memory_limit_mb=64).status == "MLE"
    v = fc.judge_problem_dir("print(-1)", "python", Path(__file__).resolve().parent.parent / "data" / "samples" /
                             "lcb_pro" / "sample-proper-divisor", cases=[2])
    assert (v.status, v.isolation.split("+")[0]) == ("AC", "rlimits")

"""functioncall: the attacks of issue 15, each bounded by small limits and run in its own cgroup (so a failed defence
cannot hurt the machine), under bubblewrap and under the fallback namespaces. Memory: tmpfs, memfd, forked children;
CPU: forked children; nested namespaces, keyring, perf, userfaultfd, memfd_secret, ptrace, io_uring, bpf, mount;
leftovers between tests; /proc/1; honest programs that used to get wrong verdicts (threads, bad_alloc text, SIGKILL)."""
import os
import platform
import shutil
import time
from pathlib import Path

import pytest

import functioncall as fc
from test_functioncall_sandbox import CGROUPS, MODES, ROOT, SAFE, assert_no_strays, judge_safe, needs_gxx

needs_cgroups = pytest.mark.skipif(not CGROUPS, reason="per-run cgroups need root and a usable cgroup hierarchy")
x86 = pytest.mark.skipif(platform.machine() != "x86_64", reason="syscall numbers of x86_64")


@pytest.fixture(params=MODES)
def fc_mode(request, monkeypatch):
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", request.param)
    return request.param


MEMORY_ATTACKS = {
    "tmpfs_file": "with open('fill.bin', 'wb') as f:\n    for _ in range(200): f.write(b'x' * (1 << 20))\nprint('SAFE')",
    "memfd": "import os\nfd = os.memfd_create('x')\nfor _ in range(200): os.write(fd, b'x' * (1 << 20))\nprint('SAFE')",
    "children": ("import os, time\nkids = []\nfor _ in range(4):\n    pid = os.fork()\n    if pid == 0:\n"
                 "        a = bytearray(40 << 20)\n        time.sleep(1.5)\n        os._exit(0)\n    kids.append(pid)\n"
                 "for k in kids: os.waitpid(k, 0)\nprint('SAFE')"),
}


@needs_cgroups
@pytest.mark.parametrize("attack", sorted(MEMORY_ATTACKS))
def test_memory_attacks_get_mle(fc_mode, attack):
    "200 MiB held through a tmpfs file, a memfd or four children, under a 64 MiB limit."
    v = judge_safe(MEMORY_ATTACKS[attack], memory_limit_mb=64, time_limit=2.0)
    assert v.status == "MLE", v.cases
    assert_no_strays()


@needs_cgroups
def test_cpu_of_children_counts(fc_mode):
    code = ("import os\nif os.fork() == 0:\n    while True: pass\nos.wait()\n")
    v = judge_safe(code, time_limit=0.5)
    assert v.status == "TLE" and v.cases[0].time >= 0.5, v.cases
    code = "import os, time\nif os.fork() == 0:\n    t = time.process_time()\n    while time.process_time() - t < 0.3: pass\n" \
           "    os._exit(0)\nos.wait()\nprint('SAFE')"
    v = judge_safe(code, time_limit=2.0)
    assert v.status == "AC" and v.cases[0].time >= 0.3, v.cases            # the child's CPU is in the reported time
    code = "import os\nif os.fork() == 0:\n    a = bytearray(40 << 20)\n    os._exit(0)\nos.wait()\nprint('SAFE')"
    v = judge_safe(code, memory_limit_mb=256)
    assert v.status == "AC" and v.cases[0].memory_mb >= 40, v.cases         # and the child's memory in the peak


@x86
def test_dangerous_syscalls_are_refused(fc_mode):
    code = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
NR = dict(unshare=272, setns=308, mount=165, keyctl=250, add_key=248, request_key=249, ptrace=101,
          perf_event_open=298, userfaultfd=323, memfd_secret=447, io_uring_setup=425, bpf=321, kexec_load=246,
          init_module=175, pivot_root=155, open_by_handle_at=304)
got = {}
def call(name, *args):
    r = libc.syscall(NR[name], *args)
    got[name] = (r, ctypes.get_errno())
buf = ctypes.create_string_buffer(256)
for flag in (0x10000000, 0x00020000, 0x40000000, 0x20000000):      # USER, NS, NET, PID
    r = libc.unshare(flag); got[f"unshare {flag:#x}"] = (r, ctypes.get_errno())
call("setns", 0, 0)
call("mount", b"none", b"/tmp", b"tmpfs", 0, None)
call("add_key", b"user", b"secret", b"data", 4, ctypes.c_int(-4))   # the user keyring
call("keyctl", 0, ctypes.c_int(-4), 0)
call("request_key", b"user", b"secret", None, 0)
call("ptrace", 0, 0, 0, 0)                                         # PTRACE_TRACEME
call("perf_event_open", buf, 0, -1, -1, 0)
call("userfaultfd", 0)
call("memfd_secret", 0)
call("io_uring_setup", 1, buf)
call("bpf", 0, buf, 64)
call("kexec_load", 0, 0, 0, 0)
call("init_module", 0, 0, b"")
call("pivot_root", b"/", b"/")
call("open_by_handle_at", 0, buf, 0)
pid = os.fork() if hasattr(os, "fork") else 0                       # plain fork still works
if pid == 0: os._exit(0)
os.waitpid(pid, 0)
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM); got["inet"] = (0, 0)
except OSError: pass
a, b = socket.socketpair(); a.close(); b.close()                     # AF_UNIX is fine
bad = {k: v for k, v in got.items() if v[0] != -1 or v[1] not in (1, 38)}  # EPERM or ENOSYS
print("SAFE" if not bad else bad)
"""
    v = judge_safe(code)
    assert v.status == "AC", v.cases


@x86
def test_keyring_cannot_carry_secrets_between_submissions(fc_mode):
    "A later submission searches the user keyring for the key an earlier one tried to add: nothing is found."
    put = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
           "r = libc.syscall(248, b'user', b'fc-secret', b'hunter2', 7, ctypes.c_int(-4))\nprint('SAFE' if r == -1 else r)")
    get = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"   # keyctl(KEYCTL_SEARCH, user keyring, type, name)
           "r = libc.syscall(250, 10, ctypes.c_int(-4), b'user', b'fc-secret', 0)\nprint('SAFE' if r == -1 else r)")
    assert judge_safe(put).status == "AC"
    assert judge_safe(get).status == "AC"


def test_each_test_gets_a_fresh_empty_dir(fc_mode):
    "Test 1 leaves a deep tree and a file; test 2 of the same submission (same sandbox) finds nothing of it."
    code = r"""
import os
mode = input().strip()
if mode == "plant":
    os.makedirs("/".join(["d"] * 200), exist_ok=True)
    os.chdir("/".join(["d"] * 200)); open("secret", "w").write("x"); os.chmod(".", 0)
    print("SAFE")
else:
    seen = os.listdir(".")
    try: seen += os.listdir("/box")
    except OSError: pass
    print("SAFE" if not seen else seen)
"""
    tests = [{"input": "plant", "output": "SAFE"}, {"input": "look", "output": "SAFE"}]
    v = judge_safe(code, tests=tests)
    assert (v.status, v.passed) == ("AC", 2), v.cases


def test_proc_1_and_host_paths_are_hidden(fc_mode):
    code = r"""
import os
leak = []
for p in ("/proc/1/cmdline", "/proc/1/environ", "/proc/1/root/etc/hostname"):
    try:
        with open(p, "rb") as f:
            if f.read(): leak.append(p)
    except OSError: pass
others = [d for d in os.listdir("/proc") if d.isdigit() and int(d) != os.getpid()]
for d in others:
    try:
        if open(f"/proc/{d}/status").read().find("Uid:\t0\t") >= 0: leak.append(d)
    except OSError: pass
print("SAFE" if not leak else leak)
"""
    v = judge_safe(code)
    assert v.status == "AC", v.cases


@pytest.mark.parametrize("mode", [pytest.param(m, marks=pytest.mark.skipif(not ROOT, reason="root only"))
                                  for m in ("bwrap", "namespaces", "rlimits")])
def test_no_level_runs_a_program_as_root(monkeypatch, mode):
    if mode == "bwrap" and shutil.which("bwrap") is None: pytest.skip("bubblewrap not installed")
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", mode)
    v = fc.judge("import os\nprint('SAFE' if 0 not in os.getresuid() + os.getresgid() else os.getresuid())", "python", SAFE)
    assert v.status == "AC" and v.isolation.startswith(mode), (v, v.cases)


def test_auto_refuses_when_nothing_isolates(monkeypatch):
    "With no bubblewrap and no namespaces, `auto` refuses instead of running code with rlimits only."
    import functioncall.sandbox as sb
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", "auto")
    monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    monkeypatch.setattr(sb, "_namespaces_work", lambda: False)
    with pytest.raises(fc.SandboxError, match="FUNCTIONCALL_SANDBOX=rlimits"):
        fc.judge("print(1)", "python", [{"input": "", "output": "1"}])


@needs_gxx
@needs_cgroups
def test_four_threads_start_under_256_mib(fc_mode):
    code = r"""
#include <cstdio>
#include <thread>
#include <vector>
#include <atomic>
int main() {
    std::atomic<int> n{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; i++) ts.emplace_back([&] { n++; });
    for (auto &t : ts) t.join();
    printf("%d\n", n.load());
}
"""
    v = fc.judge(code, "cpp", [{"input": "", "output": "4"}], memory_limit_mb=256)
    assert v.status == "AC", v.cases


@needs_gxx
@pytest.mark.parametrize("lang,code,msg", [
    ("cpp", '#include <cstdio>\nint main(){ fprintf(stderr, "std::bad_alloc\\n"); return 3; }', "exit code 3"),
    ("cpp", "#include <csignal>\n#include <unistd.h>\nint main(){ kill(getpid(), SIGKILL); }", "SIGKILL"),
    ("python", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ("python", "import sys\nprint('MemoryError', file=sys.stderr)\nsys.exit(1)", "exit code 1"),
])
def test_own_words_and_own_kills_are_re_not_mle(lang, code, msg):
    v = fc.judge(code, lang, [{"input": "", "output": "1"}], memory_limit_mb=64)
    assert v.status == "RE" and msg in v.cases[0].message, v.cases


def test_control_characters_are_escaped_in_messages():
    v = fc.judge("import sys\nsys.stderr.write('\\x1b[2J\\x1b]0;pwned\\x07boom\\r\\n')\nsys.exit(2)", "python",
                 [{"input": "", "output": "1"}])
    m = v.cases[0].message
    assert v.status == "RE" and "\x1b" not in m and "\\x1b[2J" in m and "\x07" not in m, m


def test_cgroup_v2_code_path(monkeypatch, tmp_path):
    """fcbox's cgroup v2 path (join, CPU of the tree from cpu.stat, kill through cgroup.kill) on this machine's
    unified hierarchy, which has no controllers here (they are bound to v1): no memory or pids limits, the rest real."""
    from functioncall import cgroup as fcg
    mp = next((m for m, t, _ in fcg._mounts() if t == "cgroup2"), None)
    if not ROOT or mp is None: pytest.skip("needs root and a cgroup2 mount")
    own = fcg._own_paths().get("", "/").rstrip("/")
    base = Path(mp + own) / f"functioncall-v2test-{os.getpid()}"
    if not (base.parent / "cgroup.kill").exists() and not (Path(mp) / "cgroup.procs").exists(): pytest.skip("no cgroup2")
    base.mkdir(exist_ok=True)
    monkeypatch.setattr(fcg, "setup", lambda: fcg.CgroupSetup(2, (base,)))
    monkeypatch.setattr(fcg, "_enable", lambda cg, ctrls=(): True)
    monkeypatch.setenv("FUNCTIONCALL_SANDBOX", "bwrap")
    try:
        v = fc.judge("import os, time\nif os.fork() == 0:\n    t = time.process_time()\n"
                     "    while time.process_time() - t < 0.3: pass\n    os._exit(0)\nos.wait()\nprint('SAFE')", "python", SAFE)
        assert v.status == "AC" and v.isolation == ("bwrap+cgroup2") and v.cases[0].time >= 0.3, (v, v.cases)
        marker = f"{53 + time.time_ns() % 1000}.{time.time_ns() % 99991}"
        v = fc.judge(f"import os, subprocess\nif os.fork() == 0:\n    os.setsid()\n    subprocess.Popen(['sleep', '{marker}'])\n"
                     "    os._exit(0)\nwhile True: pass", "python", SAFE, time_limit=0.5)
        assert v.status == "TLE", v.cases
        assert_no_strays(marker)
        assert [d for d in base.iterdir() if d.is_dir()] == []            # every run's and session's cgroup removed
    finally: fcg._remove_tree(base, 2)

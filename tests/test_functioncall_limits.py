"""functioncall: the judge stays small (streaming comparison, the Python syntax check in the sandbox), compilation is
bounded (wall limit, no blocking devices), the compile cache is capped with LRU eviction, the stack limit is its own
setting, and every failing test keeps its checker message when all tests run."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import functioncall as fc
from functioncall import compiler

REPO = Path(__file__).resolve().parent.parent
needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")

_RSS = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
import functioncall as fc
what, arg = sys.argv[2], sys.argv[3]
if what == "output":
    v = fc.judge_problem_dir("import sys\nw = sys.stdout.buffer.write\nfor _ in range(32): w(b'1 ' * (1 << 20))",
                             "python", arg, output_limit_mb=80)
else:
    v = fc.judge(open(arg).read(), "python", [], time_limit=5)
# VmHWM is this process image's own peak; ru_maxrss would also count the parent's pages at fork (a big pytest run)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"status": v.status, "peak_mb": hwm / 1024}))
"""


def _peak(what, arg):
    r = subprocess.run([sys.executable, "-c", _RSS, str(REPO), what, str(arg)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_judge_memory_is_independent_of_output_size(tmp_path):
    "A 64 MiB output compared with a 64 MiB answer: the judging process stays under 200 MB (it held 1.3 GB)."
    p = tmp_path / "big"
    (p / "testdata").mkdir(parents=True)
    (p / "config.yaml").write_text("time_limit: 10s\nmemory_limit: 512m\n")
    (p / "testdata" / "1.in").write_text("\n")
    with open(p / "testdata" / "1.ans", "wb") as f:
        for _ in range(32): f.write(b"1 " * (1 << 20))
    os.chmod(tmp_path, 0o755)
    got = _peak("output", p)
    assert got["status"] == "AC" and got["peak_mb"] < 200, got
    with open(p / "testdata" / "1.ans", "r+b") as f:                    # one token differs, deep inside
        f.seek(50 << 20); f.write(b"2")
    got = _peak("output", p)
    assert got["status"] == "WA" and got["peak_mb"] < 200, got


def test_large_python_source_is_checked_in_the_sandbox(tmp_path):
    src = tmp_path / "big.py"
    with open(src, "w") as f:
        i = 0
        while f.tell() < 6_000_000:
            f.write(f"v{i} = [{i}, {i} + 1, '\\d{i}']\n"); i += 1          # also a warning per line
    got = _peak("python", src)
    assert got["status"] == "AC" and got["peak_mb"] < 200, got


@pytest.mark.parametrize("a,b,same", ids=range(6), argvalues=[
    (b"1 2\n3", b" 1\t2 3 \n\n", True), (b"12", b"1 2", False), (b"", b" \n", True), (b"a", b"", False),
    (b"x" * 70000 + b" y", b"x" * 70000 + b"\ny\n", True), (b"x" * 70000, b"x" * 69999 + b" x", False),
])
def test_streaming_token_comparison(tmp_path, a, b, same, monkeypatch):
    import importlib
    j = importlib.import_module("functioncall.judge")
    monkeypatch.setattr(j, "CHUNK", 7)                                   # tiny blocks: every boundary case
    (tmp_path / "out").write_bytes(a)
    assert j._tokens_equal(tmp_path / "out", b) is same
    (tmp_path / "ans").write_bytes(b)
    assert j._tokens_equal(tmp_path / "out", tmp_path / "ans") is same
    assert same == (a.split() == b.split())


@needs_gxx
def test_compile_wall_limit(monkeypatch):
    monkeypatch.setattr(compiler, "COMPILE_WALL_S", 2.0)
    burn = ("constexpr long f() { long s = 0; for (long i = 0; i < 200000; i++) for (long j = 0; j < 200000; j++)"
            f" s += i ^ j; return s; }}\nconstexpr long x = f();\nint main() {{ return x & 1; }} // {time.time_ns()}\n")
    t = time.perf_counter()
    v = fc.judge(burn, "cpp", [{"input": "", "output": ""}])
    assert v.status == "CE" and "timed out" in v.compile_log and time.perf_counter() - t < 15, v.compile_log


@needs_gxx
@pytest.mark.parametrize("dev", ["/dev/ptmx", "/dev/tty", "/dev/pts/0", "/dev/console"])
def test_no_blocking_devices_at_compile_time(dev):
    t = time.perf_counter()
    v = fc.judge(f"#include <{dev}>\nint main() {{}} // {time.time_ns()}", "cpp", [{"input": "", "output": ""}])
    assert v.status == "CE" and time.perf_counter() - t < 10, v.compile_log


@needs_gxx
def test_compile_cache_is_capped_lru(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNCTIONCALL_CACHE", str(tmp_path / "cache"))
    src = [f"int main() {{ return {i}; }} // {time.time_ns()}\n" for i in range(3)]
    progs = [compiler.compile_cpp(s) for s in src[:2]]
    os.utime(progs[0].path, (time.time() - 100, time.time() - 100))
    os.utime(progs[1].path, (time.time() - 50, time.time() - 50))
    assert compiler.compile_cpp(src[0]).path == progs[0].path                # a hit makes it the most recent
    size = progs[0].path.stat().st_size
    monkeypatch.setattr(compiler, "CACHE_MB", (2 * size + size // 2) / (1 << 20))
    third = compiler.compile_cpp(src[2])
    left = sorted(p.name for p in (tmp_path / "cache" / "bin").iterdir())
    assert left == sorted([progs[0].path.name, third.path.name]), left     # the least recently used went


def test_stack_limit_is_its_own_setting():
    code = "import resource\nprint(resource.getrlimit(resource.RLIMIT_STACK)[0] >> 20)"
    assert fc.judge(code, "python", [{"input": "", "output": str(fc.STACK_LIMIT_MB)}], memory_limit_mb=256).status == "AC"
    assert fc.judge(code, "python", [{"input": "", "output": "200"}], memory_limit_mb=128, stack_limit_mb=200).status == "AC"
    with pytest.raises(ValueError, match="stack_limit_mb"): fc.judge(code, "python", [], stack_limit_mb=0)


@needs_gxx
def test_all_tests_keep_their_checker_messages():
    checker = r"""
#include <cstdio>
int main(int argc, char **argv) {
    FILE *o = fopen(argv[2], "r"), *a = fopen(argv[3], "r"); long long x, y;
    if (fscanf(o, "%lld", &x) != 1 || fscanf(a, "%lld", &y) != 1) return 1;
    if (x != y) { fprintf(stderr, "wrong answer: got %lld, want %lld\n", x, y); return 1; }
    return 0;
}
"""
    tests = [{"input": f"{i}", "output": f"{i if i % 2 else i + 1}"} for i in range(6)]
    v = fc.judge("print(input())", "python", tests, checker=checker, stop_on_first_failure=False)
    assert (v.status, v.passed, v.total, len(v.cases)) == ("WA", 3, 6, 6), v
    bad = [c for c in v.cases if c.status != "AC"]
    assert [c.message for c in bad] == [f"wrong answer: got {i}, want {i + 1}" for i in (0, 2, 4)]
    assert bad[0].input == "0" and bad[0].expected == "1" and all(c.input is None for c in bad[1:])

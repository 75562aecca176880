"""Judge throughput, overhead, footprint and service admission: `python bench/bench_judge.py [--quick]`.

Measures
1. tests per second for a trivial C++ and a trivial Python solution over 200 tests;
2. the judge's overhead per test against running the same compiled binary with a bare `subprocess.run` (no sandbox,
   no limits), both on one slot, in interleaved rounds (median of the rounds: this machine is shared and noisy);
3. a batch of 64 submissions x 20 tests judged in parallel through `ajudge`;
4. the judging process's own peak RSS (in a fresh child process) while it judges a 64 MiB output against a 64 MiB
   answer file, and while it judges a 6 MB Python source;
5. the HTTP service under 200 concurrent requests: how many were judged / shed (429) / failed, and the latency of
   `GET /health` meanwhile;
6. (root, cgroup v1 cpuacct) the CPU time per test of judging vs bare `subprocess.run`, read from a cpuacct cgroup
   holding everything each side ran (the judge's own runs are nested under it with FUNCTIONCALL_CGROUP_ROOT): unlike
   wall time, it does not move with the load of this shared machine.
"""
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import functioncall as fc
from functioncall.compiler import compile_cpp
from functioncall.sandbox import SLOTS

CPP = """#include <cstdio>
int main() { long long a, b; if (scanf("%lld %lld", &a, &b) != 2) return 1; printf("%lld\\n", a + b); }
"""
PY = "a, b = map(int, input().split())\nprint(a + b)\n"


def tests(n):
    return [{"input": f"{i} {2 * i}\n", "output": f"{3 * i}\n"} for i in range(n)]


def rate(code, lang, n=200):
    "(tests/s, seconds) judging `n` tests of one submission."
    t = time.perf_counter()
    v = fc.judge(code, lang, tests(n))
    dt = time.perf_counter() - t
    assert v.status == "AC" and v.passed == n, v
    return n / dt, dt


def bare_ms(binary, n=200):
    "Milliseconds per test for subprocess.run of the binary, input from a file, output captured."
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, t in enumerate(tests(n)):
            p = Path(d) / f"{i}.in"
            p.write_text(t["input"])
            paths.append(p)
        t0 = time.perf_counter()
        for p in paths:
            with open(p, "rb") as f: subprocess.run([str(binary)], stdin=f, capture_output=True, check=True)
        return (time.perf_counter() - t0) / n * 1000


def overhead(rounds: int) -> dict:
    "Judge (one slot) and bare subprocess.run, alternated `rounds` times; medians and the ratio of medians."
    binary = compile_cpp(CPP).path
    n = SLOTS.n
    judge_ms, bare = [], []
    SLOTS.resize(1)                                   # one slot: the overhead of a single sandboxed run
    try:
        for _ in range(rounds):
            judge_ms.append(rate(CPP, "cpp")[1] / 200 * 1000)
            bare.append(bare_ms(binary))
    finally: SLOTS.resize(n)
    j, b = statistics.median(judge_ms), statistics.median(bare)
    return {"judge_ms_per_test_1slot": j, "bare_ms_per_test": b, "overhead_ms_per_test": j - b,
            "overhead_ratio": j / b, "overhead_ratio_best_round": min(x / y for x, y in zip(judge_ms, bare)),
            "overhead_rounds": rounds}


async def batch(code, lang, subs=64, per=20):
    t = time.perf_counter()
    vs = await asyncio.gather(*(fc.ajudge(code, lang, tests(per)) for _ in range(subs)))
    dt = time.perf_counter() - t
    assert all(v.status == "AC" for v in vs)
    return dt, subs * per / dt


_RSS_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import functioncall as fc
what, arg = sys.argv[2], sys.argv[3]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
if what == "output":
    v = fc.judge_problem_dir("import sys\nw = sys.stdout.buffer.write\nfor _ in range(32): w(b'1 ' * (1 << 20))",
                             "python", arg, output_limit_mb=80)
else:
    v = fc.judge(open(arg).read(), "python", [{"input": "", "output": "1"}], memory_limit_mb=2048, time_limit=5)
print(json.dumps({"status": v.status, "s": time.perf_counter() - t, "base_mb": base / 1024,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def judge_rss() -> dict:
    "Peak RSS of a fresh judging process: 64 MiB output vs a 64 MiB answer file; a 6 MB Python source."
    out = {}
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "big-output"
        (p / "testdata").mkdir(parents=True)
        (p / "config.yaml").write_text("time_limit: 10s\nmemory_limit: 512m\n")
        (p / "testdata" / "1.in").write_text("\n")
        with open(p / "testdata" / "1.ans", "wb") as f:
            for _ in range(32): f.write(b"1 " * (1 << 20))
        src = Path(d) / "big.py"
        with open(src, "w") as f:                                   # 6 MB of plain assignments, then the answer
            i = 0
            while f.tell() < 6_000_000:
                f.write(f"v{i} = [{i}, {i} + 1, '{i}']\n"); i += 1
            f.write("print(1)\n")
        os.chmod(d, 0o755)
        for what, arg in (("output", p), ("python6mb", src)):
            r = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(REPO), what, str(arg)], capture_output=True,
                               text=True, timeout=600)
            if r.returncode:
                out[f"rss_{what}_error"] = r.stderr[-300:]
                continue
            got = json.loads(r.stdout.strip().splitlines()[-1])
            out[f"rss_{what}_peak_mb"], out[f"rss_{what}_status"] = got["peak_mb"], got["status"]
            out[f"rss_{what}_s"] = got["s"]
            out["rss_import_mb"] = got["base_mb"]
    return out


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service(n_requests: int = 200) -> dict:
    "A judge server under `n_requests` concurrent /judge requests; /health latency measured meanwhile."
    import aiohttp
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "functioncall.serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError: time.sleep(0.05)
        body = {"code": "import time\ntime.sleep(0.05)\nprint(input())", "language": "python",
                "tests": [{"input": "7", "output": "7"}]}

        async def main():
            codes, lat = [], []
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600),
                                             connector=aiohttp.TCPConnector(limit=0)) as s:
                async def one():
                    async with s.post(url + "/judge", json=body) as r:
                        await r.read()
                        codes.append(r.status)

                async def health(stop):
                    while not stop.is_set():
                        t = time.perf_counter()
                        async with s.get(url + "/health") as r: await r.read()
                        lat.append(time.perf_counter() - t)
                        await asyncio.sleep(0.02)
                stop = asyncio.Event()
                h = asyncio.create_task(health(stop))
                t0 = time.perf_counter()
                await asyncio.gather(*(one() for _ in range(n_requests)))
                dt = time.perf_counter() - t0
                stop.set(); await h
            return codes, lat, dt
        codes, lat, dt = asyncio.run(main())
    finally:
        proc.terminate()
        try: proc.wait(timeout=10)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
    lat.sort()
    return {"service_requests": n_requests, "service_200": codes.count(200), "service_429": codes.count(429),
            "service_other": len(codes) - codes.count(200) - codes.count(429), "service_s": dt,
            "service_health_max_ms": lat[-1] * 1000, "service_health_p50_ms": lat[len(lat) // 2] * 1000,
            "service_health_samples": len(lat)}


_CPU_CHILD = r"""
import os, subprocess, sys, tempfile
sys.path.insert(0, sys.argv[1])
open(sys.argv[2], "w").write(str(os.getpid()))
what, n = sys.argv[3], int(sys.argv[4])
import functioncall as fc
from functioncall.compiler import compile_cpp
cpp = open(sys.argv[5]).read()
tests = [{"input": f"{i} {2 * i}\n", "output": f"{3 * i}\n"} for i in range(n)]
if what == "judge":
    from functioncall.sandbox import SLOTS
    SLOTS.resize(1)
    v = fc.judge(cpp, "cpp", tests)
    assert v.status == "AC", v
elif what == "bare":
    prog = str(compile_cpp(cpp).path)
    d = tempfile.mkdtemp()
    for i, t in enumerate(tests):
        p = os.path.join(d, f"{i}.in"); open(p, "w").write(t["input"])
        with open(p, "rb") as f: subprocess.run([prog], stdin=f, capture_output=True, check=True)
"""


def cpu_per_test(n: int = 200, rounds: int = 3) -> dict:
    "CPU ms per test (judge, one slot) and per bare run, each side in its own cpuacct cgroup, minus an import-only run."
    from functioncall import cgroup as fcg
    if os.geteuid() != 0: return {}
    mp = next((m for m, t, o in fcg._mounts() if t == "cgroup" and "cpuacct" in o), None)
    if mp is None: return {}
    own = fcg._own_paths().get("cpuacct", "/").rstrip("/")
    src = Path(tempfile.mkdtemp()) / "sum.cpp"
    src.write_text(CPP)
    got = {"judge": [], "bare": [], "import": []}
    for r in range(rounds):
        for what in ("import", "judge", "bare"):
            name = f"fcbench-{os.getpid()}-{r}-{what}"
            cg = Path(mp + own) / name
            cg.mkdir()
            try:
                pidf = cg / "ignored"
                proc = subprocess.Popen(
                    ["/bin/sh", "-c", f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", sys.executable, "-c", _CPU_CHILD,
                     str(REPO), "/dev/null", what, str(n), str(src)],
                    env={**os.environ, "FUNCTIONCALL_CGROUP_ROOT": f"{(own + '/' + name).lstrip('/')}/functioncall"})
                proc.wait(timeout=600)
                got[what].append(int((cg / "cpuacct.usage").read_text()) / 1e6)
            finally:
                for base_mp in {m for m, t, o in fcg._mounts() if t == "cgroup"}:
                    d = Path(base_mp) / (own + "/" + name).lstrip("/")
                    if d.is_dir(): fcg._remove_tree(d, 1)
                    d2 = Path(base_mp) / name
                    if d2.is_dir(): fcg._remove_tree(d2, 1)
    base = statistics.median(got["import"])
    j = (statistics.median(got["judge"]) - base) / n
    b = (statistics.median(got["bare"]) - base) / n
    return {"cpu_ms_per_test_judge": j, "cpu_ms_per_test_bare": b, "cpu_overhead_ratio": j / b}


def main(quick: bool = False):
    out = {"cores": os.cpu_count(), "slots": SLOTS.n, "isolation": fc.isolation_level()}
    fc.judge(CPP, "cpp", tests(2)); fc.judge(PY, "python", tests(2))           # warm up: compile, helper, probes
    t = time.perf_counter()
    compile_cpp(CPP + f"// fresh {time.time_ns()}\n")
    out["compile_s_trivial_cpp"] = time.perf_counter() - t
    out["cpp_tests_per_s"], out["cpp_200_s"] = rate(CPP, "cpp")
    out["python_tests_per_s"], out["python_200_s"] = rate(PY, "python")
    out.update(overhead(3 if quick else 7))
    out["batch_64x20_cpp_s"], out["batch_64x20_cpp_tests_per_s"] = asyncio.run(batch(CPP, "cpp"))
    out["batch_64x20_python_s"], out["batch_64x20_python_tests_per_s"] = asyncio.run(batch(PY, "python"))
    out.update(cpu_per_test(rounds=2 if quick else 3))
    out.update(judge_rss())
    out.update(service())
    w = max(map(len, out))
    for k, v in out.items(): print(f"{k:<{w}}  {v:.3f}" if isinstance(v, float) else f"{k:<{w}}  {v}")
    return out


if __name__ == "__main__":
    main("--quick" in sys.argv[1:])

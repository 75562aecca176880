"""Judge throughput: `python bench/bench_judge.py`.

Measures (1) tests per second for a trivial C++ and a trivial Python solution over 200 tests, (2) the judge's
overhead per test against running the same compiled binary with a bare `subprocess.run` (no sandbox, no limits),
both on one slot, and (3) a batch of 64 submissions x 20 tests judged in parallel through `ajudge`.
"""
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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


async def batch(code, lang, subs=64, per=20):
    t = time.perf_counter()
    vs = await asyncio.gather(*(fc.ajudge(code, lang, tests(per)) for _ in range(subs)))
    dt = time.perf_counter() - t
    assert all(v.status == "AC" for v in vs)
    return dt, subs * per / dt


def main():
    out = {"cores": os.cpu_count(), "slots": SLOTS.n, "isolation": fc.isolation_level()}
    fc.judge(CPP, "cpp", tests(2)); fc.judge(PY, "python", tests(2))           # warm up: compile, helper, probes
    t = time.perf_counter()
    compile_cpp(CPP + f"// fresh {time.time_ns()}\n")
    out["compile_s_trivial_cpp"] = time.perf_counter() - t
    out["cpp_tests_per_s"], out["cpp_200_s"] = rate(CPP, "cpp")
    out["python_tests_per_s"], out["python_200_s"] = rate(PY, "python")
    n = SLOTS.n
    SLOTS.resize(1)                                   # one slot: the overhead of a single sandboxed run
    try: _, one = rate(CPP, "cpp")
    finally: SLOTS.resize(n)
    out["judge_ms_per_test_1slot"] = one / 200 * 1000
    out["bare_ms_per_test"] = bare_ms(compile_cpp(CPP).path)
    out["overhead_ms_per_test"] = out["judge_ms_per_test_1slot"] - out["bare_ms_per_test"]
    out["overhead_ratio"] = out["judge_ms_per_test_1slot"] / out["bare_ms_per_test"]
    out["batch_64x20_cpp_s"], out["batch_64x20_cpp_tests_per_s"] = asyncio.run(batch(CPP, "cpp"))
    out["batch_64x20_python_s"], out["batch_64x20_python_tests_per_s"] = asyncio.run(batch(PY, "python"))
    w = max(map(len, out))
    for k, v in out.items(): print(f"{k:<{w}}  {v:.3f}" if isinstance(v, float) else f"{k:<{w}}  {v}")
    return out


if __name__ == "__main__":
    main()

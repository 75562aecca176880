"""functioncall: every verdict on small C++ and Python programs, checkers, interactors, testlib, the compile cache,
the async API and the JSON form of a verdict."""
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import functioncall as fc
from functioncall import Verdict, ajudge, judge
from functioncall.compiler import compile_cpp

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples" / "lcb_pro"

CPP_SUM = """#include <cstdio>
int main() { long long a, b; if (scanf("%lld %lld", &a, &b) != 2) return 1; printf("%lld\\n", a + b); }
"""
PY_SUM = "a, b = map(int, input().split())\nprint(a + b)\n"
SUM_TESTS = [{"input": "1 2\n", "output": "3\n"}, {"input": "-5 5\n", "output": "0\n"}, {"input": "40 2\n", "output": "42\n"}]
SUM = {"cpp": CPP_SUM, "python": PY_SUM}
LANGS = [pytest.param("cpp", marks=needs_gxx), "python"]


def run(code, lang, tests=None, **kw):
    "Judge with short limits so failing programs cost little time."
    kw.setdefault("time_limit", 0.5)
    kw.setdefault("memory_limit_mb", 64)
    return judge(code, lang, tests if tests is not None else [{"input": "", "output": "1"}], **kw)


# --- AC / WA -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_ac(lang):
    v = judge(SUM[lang], lang, SUM_TESTS)
    assert (v.status, v.passed, v.total) == ("AC", 3, 3), v
    assert [c.status for c in v.cases] == ["AC"] * 3
    assert v.isolation.split("+")[0] in ("bwrap", "bwrap-userns", "namespaces", "rlimits")
    assert v.isolation.partition("+")[2] in ("", "cgroup1", "cgroup2")
    assert all(c.input is None and c.output is None for c in v.cases)   # excerpts only for a failure
    assert all(0 <= c.time < 0.5 and c.memory_mb > 0 for c in v.cases)


@pytest.mark.parametrize("lang", LANGS)
def test_ac_with_trailing_whitespace(lang):
    code = {"cpp": '#include <cstdio>\nint main(){ printf("1   2 \\n\\n  3\\t\\n\\n\\n"); }',
            "python": "print('1   2 ')\nprint()\nprint('  3\\t')\nprint('\\n')"}[lang]
    assert run(code, lang, [{"input": "", "output": "1 2\n3"}]).status == "AC"


@pytest.mark.parametrize("lang", LANGS)
def test_wa_reports_first_failure_and_stops(lang):
    tests = [SUM_TESTS[0], {"input": "2 2\n", "output": "5\n"}, SUM_TESTS[1]]
    v = judge(SUM[lang], lang, tests)
    assert (v.status, v.passed, v.total, len(v.cases)) == ("WA", 1, 3, 2), v
    f = v.first_failure
    assert (f.index, f.status, f.input, f.output.strip(), f.expected) == (2, "WA", "2 2\n", "4", "5\n")
    v = judge(SUM[lang], lang, tests, stop_on_first_failure=False)
    assert (v.status, v.passed, v.total, [c.status for c in v.cases]) == ("WA", 2, 3, ["AC", "WA", "AC"])
    assert v.cases[2].input is None                         # only the first failure carries excerpts


def test_excerpts_are_capped():
    big = "x" * 5000
    v = run(f"print('{big}')", "python", [{"input": big, "output": "y" * 5000}])
    f = v.first_failure
    assert v.status == "WA" and all(len(s) <= 1000 for s in (f.input, f.output, f.expected))
    assert f.input.endswith("…")


# --- TLE ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_tle_by_loop(lang):
    code = {"cpp": "int main(){ volatile unsigned x = 0; for (;;) x++; }", "python": "while True: pass"}[lang]
    t = time.perf_counter()
    v = run(code, lang)
    assert v.status == "TLE" and "CPU" in v.cases[0].message, v.cases
    assert time.perf_counter() - t < 5                       # killed at the CPU limit, not later
    assert v.cases[0].time >= 0.5


@pytest.mark.parametrize("lang", LANGS)
def test_tle_by_sleep(lang):
    code = {"cpp": "#include <unistd.h>\nint main(){ sleep(30); }", "python": "import time\ntime.sleep(30)"}[lang]
    v = run(code, lang)
    assert v.status == "TLE" and "wall" in v.cases[0].message, v.cases
    assert 0.9 <= v.cases[0].time < 3                         # wall limit = 2 x time limit


# --- MLE ---------------------------------------------------------------------------------------------------------
@needs_gxx
@pytest.mark.parametrize("code,inp", [
    ('#include <vector>\n#include <cstdio>\nint main(){ int n; scanf("%d", &n); std::vector<int> v(n, 1);'
     ' long long s = 0; for (int x : v) s += x; printf("%lld\\n", s); }', "300000000"),          # std::bad_alloc
    ('#include <cstdio>\n#include <cstdlib>\n#include <cstring>\nint main(){ for (int i = 0; i < 100; i++) {'
     ' char *p = (char *)malloc(16 << 20); memset(p, 1, 16 << 20); } puts("1"); }', ""),            # NULL from malloc
    ('#include <cstdio>\nint big[300000000];\nint main(){ int n; scanf("%d", &n); for (int i = 0; i < n; i++)'
     ' big[i] = i; printf("%d\\n", big[n - 1]); }', "100"),                                       # global array
], ids=["bad_alloc", "malloc_null", "global_array"])
def test_mle_cpp(code, inp):
    v = run(code, "cpp", [{"input": inp, "output": "1"}])
    assert v.status == "MLE", v.cases


@pytest.mark.parametrize("code", ["a = [0] * 10**8\nprint(1)", "a = []\nwhile True: a.append(bytearray(1 << 20))"])
def test_mle_python(code):
    v = run(code, "python")
    assert v.status == "MLE" and "memory limit 64 MiB" in v.cases[0].message, v.cases


def test_memory_within_limit_is_fine():
    v = run("a = bytearray(20 << 20)\nprint(1)", "python")
    assert v.status == "AC" and v.cases[0].memory_mb >= 20


# --- RE / CE / OLE -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang,code,msg", [
    pytest.param("cpp", "int main(){ volatile int *p = 0; *p = 1; }", "SIGSEGV", marks=needs_gxx),
    pytest.param("cpp", '#include <cstdio>\nint main(){ puts("1"); return 3; }', "exit code 3", marks=needs_gxx),
    ("python", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)", "SIGSEGV"),
    ("python", "raise ValueError('boom')", "ValueError: boom"),
    ("python", "import sys\nprint(1)\nsys.exit(2)", "exit code 2"),
])
def test_re(lang, code, msg):
    v = run(code, lang)
    assert v.status == "RE" and msg in v.cases[0].message, v.cases


@pytest.mark.parametrize("lang,code,log", [
    pytest.param("cpp", "int main( {", "error", marks=needs_gxx),
    ("python", "def f(:\n    pass", "SyntaxError"),
])
def test_ce(lang, code, log):
    v = run(code, lang, SUM_TESTS)
    assert (v.status, v.passed, v.total, v.cases) == ("CE", 0, 3, []) and log in v.compile_log


@pytest.mark.parametrize("lang", LANGS)
def test_ole(lang):
    code = {"cpp": '#include <cstdio>\nint main(){ for (;;) fputs("spam spam spam spam\\n", stdout); }',
            "python": "import sys\nw = sys.stdout.write\nwhile True: w('x' * 65536)"}[lang]
    v = run(code, lang, output_limit_mb=2)
    assert v.status == "OLE", v.cases


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="language"): judge("x", "rust", SUM_TESTS)
    with pytest.raises(ValueError, match="input"): judge(PY_SUM, "python", [{"in": "1 2"}])
    with pytest.raises(ValueError, match="time_limit"): judge(PY_SUM, "python", SUM_TESTS, time_limit=-1)
    with pytest.raises(ValueError, match="memory_limit"): judge(PY_SUM, "python", SUM_TESTS, memory_limit_mb=1.5)
    with pytest.raises(ValueError, match="checker"): judge(PY_SUM, "python", SUM_TESTS, checker="/no/such/chk.cc")


# --- checkers, interactors, testlib ------------------------------------------------------------------------------
ANY_EVEN_CHECKER = r"""
#include <cstdio>
int main(int argc, char **argv) {      // accepts any even number (the .ans holds one example)
    FILE *out = fopen(argv[2], "r"); long long x;
    if (!out || fscanf(out, "%lld", &x) != 1) { fprintf(stderr, "wrong answer: no number\n"); return 1; }
    if (x % 2) { fprintf(stderr, "wrong answer: %lld is odd\n", x); return 1; }
    fprintf(stderr, "ok\n"); return 0;
}
"""


@needs_gxx
def test_checker_accepts_an_answer_different_from_ans():
    tests = [{"input": "", "output": "2\n"}, {"input": "", "output": "4\n"}]
    v = run("print(10)", "python", tests, checker=ANY_EVEN_CHECKER)
    assert v.status == "AC" and v.passed == 2, v.cases
    assert run("print(10)", "python", tests).status == "WA"          # plain token comparison would refuse it
    v = run("print(7)", "python", tests, checker=ANY_EVEN_CHECKER)
    assert v.status == "WA" and "7 is odd" in v.cases[0].message


@needs_gxx
def test_checker_from_a_file(tmp_path):
    p = tmp_path / "chk.cc"
    p.write_text(ANY_EVEN_CHECKER)
    assert run("print(12)", "python", [{"input": "", "output": "2"}], checker=p).status == "AC"
    assert run("print(12)", "python", [{"input": "", "output": "2"}], checker=str(p)).status == "AC"


FAKE_TESTLIB = r"""
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
// A stand-in for testlib.h (the real one is not on any package index here): just enough for the test checker.
struct InStream { FILE *f = nullptr; long long readLong() { long long x = 0; if (fscanf(f, "%lld", &x) != 1) { fprintf(stderr, "wrong answer: expected a number\n"); exit(1); } return x; } };
static InStream inf, ouf, ans;
inline void registerTestlibCmd(int argc, char **argv) { inf.f = fopen(argv[1], "r"); ouf.f = fopen(argv[2], "r"); ans.f = fopen(argv[3], "r"); }
enum Verdict { _ok, _wa };
inline void quitf(Verdict v, const char *msg, ...) { fprintf(stderr, "%s %s\n", v == _ok ? "ok" : "wrong answer", msg); exit(v == _ok ? 0 : 1); }
"""
TESTLIB_CHECKER = r"""
#include "testlib.h"
int main(int argc, char **argv) {
    registerTestlibCmd(argc, argv);
    long long got = ouf.readLong(), want = ans.readLong();
    if (got / 10 != want / 10) quitf(_wa, "different tens");
    quitf(_ok, "same tens");
}
"""


@needs_gxx
def test_testlib_checker(tmp_path, monkeypatch):
    (tmp_path / "testlib.h").write_text(FAKE_TESTLIB)
    tests = [{"input": "", "output": "42"}]
    monkeypatch.delenv("FUNCTIONCALL_TESTLIB", raising=False)
    with pytest.raises(fc.TestlibMissing, match="FUNCTIONCALL_TESTLIB"):    # a clear error, not a WA
        run("print(45)", "python", tests, checker=TESTLIB_CHECKER)
    assert run("print(45)", "python", tests, checker=TESTLIB_CHECKER, testlib_dir=tmp_path).status == "AC"
    monkeypatch.setenv("FUNCTIONCALL_TESTLIB", str(tmp_path))
    v = run("print(55)", "python", tests, checker=TESTLIB_CHECKER)
    assert v.status == "WA" and "different tens" in v.cases[0].message
    monkeypatch.setenv("FUNCTIONCALL_TESTLIB", str(tmp_path / "nowhere"))
    with pytest.raises(fc.TestlibMissing, match="no testlib.h"):
        run("print(45)", "python", tests, checker=TESTLIB_CHECKER)


@needs_gxx
def test_broken_checker_is_a_judge_error():
    with pytest.raises(fc.JudgeError, match="checker failed to compile"):
        run("print(1)", "python", checker="#include <cstdio>\nint main( {")


@needs_gxx
@pytest.mark.parametrize("lang", LANGS)
def test_interactive_with_judge(lang):
    inter = (SAMPLES / "sample-guess-number" / "interactor.cpp").read_text()
    code = (SAMPLES / "solutions" / f"sample-guess-number.{'cpp' if lang == 'cpp' else 'py'}").read_text()
    tests = [{"input": "100 37\n", "output": "37\n"}, {"input": "1000000000 999999999\n", "output": "999999999\n"}]
    v = judge(code, lang, tests, interactor=inter)
    assert (v.status, v.passed) == ("AC", 2), v.cases
    linear = "import sys\nn = int(input())\nfor y in range(1, n + 1):\n    print('?', y, flush=True)\n" \
             "    if input() == '=':\n        print('!', y, flush=True)\n        break\n"
    v = judge(linear, "python", tests, interactor=inter)
    assert v.status == "WA" and "more than 31 queries" in v.cases[0].message, v.cases
    v = judge("import time\nn = int(input())\ntime.sleep(30)", "python", tests, time_limit=0.5, interactor=inter)
    assert v.status == "TLE", v.cases


# --- problem directories -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sol", sorted(p.name for p in (SAMPLES / "solutions").iterdir()))
def test_reference_solutions_pass(sol):
    if sol.endswith(".cpp") and shutil.which("g++") is None: pytest.skip("g++ not installed")
    path = SAMPLES / "solutions" / sol
    v = fc.judge_problem_dir(path.read_text(), "cpp" if sol.endswith(".cpp") else "python", SAMPLES / path.stem)
    assert v.status == "AC" and v.passed == v.total == len(fc.read_bundle(SAMPLES / path.stem).tests), v


@needs_gxx
@pytest.mark.parametrize("pid,code,status,index", [
    ("sample-max-subarray",                                    # 32-bit overflow
     '#include <cstdio>\nint main(){ int n; scanf("%d",&n); int best=-2000000000, cur=0;'
     ' for(int i=0;i<n;i++){ int x; scanf("%d",&x); cur = cur < 0 ? x : cur + x; if (cur > best) best = cur; }'
     ' printf("%d\\n", best); }', "WA", 6),
    ("sample-count-inversions",                                # quadratic
     '#include <cstdio>\nint a[200000];\nint main(){ int n; scanf("%d",&n); for(int i=0;i<n;i++) scanf("%d",&a[i]);'
     ' long long c=0; for(int i=0;i<n;i++) for(int j=i+1;j<n;j++) c += a[i] > a[j]; printf("%lld\\n", c); }', "TLE", 6),
    ("sample-proper-divisor", '#include <cstdio>\nint main(){ long long n; scanf("%lld",&n); printf("%lld\\n", n); }', "WA", 1),
], ids=["int_overflow", "quadratic", "prints_n"])
def test_wrong_solutions_fail_on_problem_dirs(pid, code, status, index):
    v = fc.judge_problem_dir(code, "cpp", SAMPLES / pid)
    f = v.first_failure
    assert (v.status, f.index, v.passed) == (status, index, index - 1), v.cases


def test_no_tests_means_nothing_to_fail():
    assert judge(PY_SUM, "python", []).to_dict() | {"isolation": ""} == \
        Verdict("AC", 0, 0, [], "", "").to_dict()
    assert judge("def f(:", "python", []).status == "CE"


def test_problem_dir_subset_of_cases():
    v = fc.judge_problem_dir("print(-1)", "python", SAMPLES / "sample-proper-divisor", cases=[2])
    assert (v.status, v.passed, v.total, [c.index for c in v.cases]) == ("AC", 1, 1, [2])
    v = fc.judge_problem_dir("print(-1)", "python", SAMPLES / "sample-proper-divisor", cases=[2, 1])
    assert (v.status, v.first_failure.index) == ("WA", 1)
    with pytest.raises(ValueError, match="out of range"):
        fc.judge_problem_dir("print(-1)", "python", SAMPLES / "sample-proper-divisor", cases=[99])


# --- verdict JSON, cache, parallel/async ----------------------------------------------------------------------
def test_verdict_round_trip():
    v = run("print(2)", "python")
    d = json.loads(json.dumps(v.to_dict()))
    assert Verdict.from_dict(d) == v and d["status"] == "WA" and d["cases"][0]["expected"] == "1"
    assert Verdict.from_dict({**d, "future_field": 1}) == v


@needs_gxx
def test_compile_cache_is_shared_by_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNCTIONCALL_CACHE", str(tmp_path / "cache"))
    src = CPP_SUM + f"// unique {time.time_ns()}\n"
    script = ("import sys; from functioncall.compiler import compile_cpp; p = compile_cpp(sys.stdin.read());"
              " print(p.ok, p.path)")
    env = {**os.environ, "PYTHONPATH": str(Path(fc.__file__).resolve().parent.parent)}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=env) for _ in range(3)]
    outs = [p.communicate(src)[0].split() for p in procs]
    assert all(o[0] == "True" for o in outs) and len({o[1] for o in outs}) == 1, outs
    t = time.perf_counter()
    p = compile_cpp(src)
    assert p.ok and str(p.path) == outs[0][1] and time.perf_counter() - t < 0.2      # a cache hit
    bins = list((tmp_path / "cache" / "bin").iterdir())
    assert len(bins) == 1 and not list((tmp_path / "cache" / "bin").glob(".*"))       # no partial files left
    bad = compile_cpp("int main( {" + f"// {time.time_ns()}")
    assert not bad.ok and len(list((tmp_path / "cache" / "ce").iterdir())) == 1       # compile errors cached too


def test_ajudge_runs_concurrently_without_blocking_the_loop():
    async def main():
        gaps, stop = [], asyncio.Event()

        async def ticker():
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter(); gaps.append(now - last); last = now

        tick = asyncio.create_task(ticker())
        codes = [PY_SUM, "print(0)", "import time\ntime.sleep(0.4)\nprint(3)", PY_SUM]
        vs = await asyncio.gather(*(ajudge(c, "python", SUM_TESTS) for c in codes),
                                  fc.ajudge_problem_dir("print(7)", "python", SAMPLES / "sample-a-plus-b", cases=[1]))
        stop.set(); await tick
        return vs, max(gaps)

    vs, gap = asyncio.run(main())
    assert [v.status for v in vs] == ["AC", "WA", "WA", "AC", "AC"]
    assert gap < 0.25, gap


def test_parallel_tests_keep_their_order():
    tests = [{"input": f"{i} {i}\n", "output": f"{2 * i}\n"} for i in range(40)]
    v = judge("import time\na, b = map(int, input().split())\ntime.sleep(0.03)\nprint(a + b)", "python", tests)
    assert (v.status, v.passed, [c.index for c in v.cases]) == ("AC", 40, list(range(1, 41)))

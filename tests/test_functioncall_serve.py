"""functioncall service mode: real judge servers (`python -m functioncall.serve`) on loopback, a client spreading
requests over them, failover, and clear 4xx answers to bad requests."""
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from functioncall import JudgeClient, Verdict
from functioncall.client import JudgeServiceError

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data" / "samples" / "lcb_pro"
PY_SUM = "a, b = map(int, input().split())\nprint(a + b)\n"
TESTS = [{"input": "1 2\n", "output": "3\n"}, {"input": "2 2\n", "output": "4\n"}]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(extra=()):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "FUNCTIONCALL_TESTLIB"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")
    p = subprocess.Popen([sys.executable, "-m", "functioncall.serve", "--port", str(port), *extra], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as r:
                if json.loads(r.read())["ok"]: return p, url
        except OSError: time.sleep(0.05)
        if p.poll() is not None: break
    p.kill()
    raise RuntimeError(f"judge server did not start: {p.stderr.read().decode()[-2000:]}")


@pytest.fixture(scope="module")
def fc_servers():
    "Two judge servers (the second confined to the sample problems)."
    a, b = _start(), _start(["--problems-root", str(SAMPLES)])
    yield [a[1], b[1]]
    for p, _ in (a, b):
        p.terminate()
        try: p.wait(timeout=10)
        except subprocess.TimeoutExpired: p.kill(); p.wait()


def _post(url, body, raw=None):
    req = urllib.request.Request(url, data=raw if raw is not None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r: return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e: return e.code, json.loads(e.read())


def test_judge_over_http(fc_servers):
    c = JudgeClient(fc_servers)
    v = c.judge(PY_SUM, "python", TESTS)
    assert isinstance(v, Verdict) and (v.status, v.passed, v.total) == ("AC", 2, 2)
    v = c.judge("print(5)", "python", TESTS, time_limit=2, memory_limit_mb=128)
    assert v.status == "WA" and v.first_failure.expected == "3\n"
    v = c.judge_problem_dir("print(-1)", "python", SAMPLES / "sample-proper-divisor", cases=[2])
    assert (v.status, v.total) == ("AC", 1)
    assert all(h["ok"] and h["slots"] >= 1 for h in c.health().values())


def test_requests_are_spread_over_servers(fc_servers):
    c = JudgeClient(fc_servers)

    async def main():
        slow = "import time\na, b = map(int, input().split())\ntime.sleep(0.2)\nprint(a + b)"
        return await asyncio.gather(*(c.ajudge(slow, "python", TESTS) for _ in range(6)),
                                    c.ajudge_problem_dir("print(-1)", "python", str(SAMPLES / "sample-proper-divisor"),
                                                         cases=[2]))
    vs = asyncio.run(main())
    assert [v.status for v in vs] == ["AC"] * 7
    assert all(n >= 2 for n in c.served.values()), c.served       # least outstanding: both servers used
    assert all(n == 0 for n in c.outstanding.values())


def test_failover_to_a_live_server(fc_servers):
    dead = f"http://127.0.0.1:{_free_port()}"
    c = JudgeClient([dead, fc_servers[0]])
    for _ in range(3): assert c.judge(PY_SUM, "python", TESTS).status == "AC"
    assert c.served[dead] == 0 and c.served[fc_servers[0]] == 3
    with pytest.raises(JudgeServiceError, match="no judge server"):
        JudgeClient([dead]).judge(PY_SUM, "python", TESTS)


@pytest.mark.parametrize("path,body,raw,code,msg", [
    ("/judge", None, b"{not json", 400, "not valid JSON"),
    ("/judge", None, b"[1, 2]", 400, "JSON object"),
    ("/judge", {"language": "python", "tests": TESTS}, None, 400, "missing field 'code'"),
    ("/judge", {"code": "print(1)", "language": "cobol", "tests": TESTS}, None, 400, "unsupported language"),
    ("/judge", {"code": "print(1)", "language": "python", "tests": "nope"}, None, 400, "'tests'"),
    ("/judge", {"code": "print(1)", "language": "python", "tests": [{"x": 1}]}, None, 400, "'input' and 'output'"),
    ("/judge", {"code": "print(1)", "language": "python", "tests": TESTS, "time_limit": -3}, None, 400, "time_limit"),
    ("/judge", {"code": "print(1)", "language": "python", "tests": TESTS, "time_limit": True}, None, 400, "wrong type"),
    ("/judge", {"code": "print(1)", "language": "python", "tests": TESTS, "checker": "/etc/passwd"}, None, 400, "source text"),
    ("/judge", {"code": "print(1)", "language": "python", "tests": TESTS,
                "checker": '#include "testlib.h"\nint main() {}'}, None, 422, "testlib"),
    ("/judge_problem_dir", {"code": "print(1)", "language": "python", "problem_dir": "/no/such/dir"}, None, 400, "not a directory"),
    ("/judge_problem_dir", {"code": "print(1)", "language": "python", "problem_dir": str(SAMPLES / "sample-a-plus-b"),
                            "cases": [0]}, None, 400, "out of range"),
    ("/judge_problem_dir", {"code": "print(1)", "language": "python", "problem_dir": str(SAMPLES / "sample-a-plus-b"),
                            "cases": ["1"]}, None, 400, "cases"),
])
def test_bad_requests_get_4xx_with_a_message(fc_servers, path, body, raw, code, msg):
    status, out = _post(fc_servers[0] + path, body, raw)
    assert status == code and msg in out["error"], out


def test_problems_root_confines_problem_dirs(fc_servers):
    body = {"code": "print(-1)", "language": "python", "problem_dir": "sample-proper-divisor", "cases": [2]}
    status, out = _post(fc_servers[1] + "/judge_problem_dir", body)
    assert status == 200 and out["status"] == "AC"                   # relative to --problems-root
    status, out = _post(fc_servers[1] + "/judge_problem_dir", {**body, "problem_dir": str(REPO)})
    assert status == 400 and "outside" in out["error"]
    with pytest.raises(JudgeServiceError) as e:
        JudgeClient(fc_servers[1]).judge_problem_dir("print(1)", "python", "../..")
    assert e.value.status == 400

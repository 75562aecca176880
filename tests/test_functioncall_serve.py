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
    env = {k: v for k, v in os.environ.items() if k not in ("FUNCTIONCALL_TESTLIB", "FUNCTIONCALL_TOKEN")}
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


def _stop(procs):
    for p in procs:
        p.terminate()
        try: p.wait(timeout=10)
        except subprocess.TimeoutExpired: p.kill(); p.wait()


@pytest.fixture(scope="module")
def fc_servers():
    "Two judge servers serving the sample problems."
    a, b = _start(["--problems-root", str(SAMPLES)]), _start(["--problems-root", str(SAMPLES)])
    yield [a[1], b[1]]
    _stop([a[0], b[0]])


@pytest.fixture(scope="module")
def fc_guarded():
    "A judge server with a token, small maxima and a queue of one submission."
    p, url = _start(["--token", "s3cret", "--max-time-limit", "2", "--max-memory-mb", "512", "--max-output-mb", "8",
                     "--max-tests", "3", "--max-body-mb", "1", "--max-queue", "1"])
    yield url
    _stop([p])


def _post(url, body, raw=None, token=None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(url, data=raw if raw is not None else json.dumps(body).encode(), headers=headers)
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
    ("/judge_problem_dir", {"code": "print(1)", "language": "python", "problem_dir": "no-such-problem"}, None, 400, "not a directory"),
    ("/judge_problem_dir", {"code": "print(1)", "language": "python", "problem_dir": "/no/such/dir"}, None, 400, "outside"),
    ("/judge_problem_dir", {"code": "print(1)", "language": "python", "problem_dir": str(SAMPLES / "sample-a-plus-b"),
                            "cases": [1, 1]}, None, 400, "more than once"),
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


def test_bundles_need_a_problems_root():
    p, url = _start()
    try:
        status, out = _post(url + "/judge_problem_dir", {"code": "print(1)", "language": "python",
                                                         "problem_dir": str(SAMPLES / "sample-a-plus-b")})
        assert status == 403 and "--problems-root" in out["error"]
        assert _post(url + "/judge", {"code": PY_SUM, "language": "python", "tests": TESTS})[1]["status"] == "AC"
    finally: _stop([p])


def test_non_loopback_needs_a_token():
    env = {k: v for k, v in os.environ.items() if k != "FUNCTIONCALL_TOKEN"}
    env["PYTHONPATH"] = str(REPO)
    r = subprocess.run([sys.executable, "-m", "functioncall.serve", "--host", "0.0.0.0", "--port", str(_free_port())],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "needs a token" in r.stderr


def test_token_is_required_and_sent_by_the_client(fc_guarded, monkeypatch):
    body = {"code": PY_SUM, "language": "python", "tests": TESTS}
    assert _post(fc_guarded + "/judge", body)[0] == 401
    assert _post(fc_guarded + "/judge", body, token="wrong")[0] == 401
    status, out = _post(fc_guarded + "/judge", body, token="s3cret")
    assert status == 200 and out["status"] == "AC"
    assert JudgeClient(fc_guarded, token="s3cret").judge(PY_SUM, "python", TESTS).status == "AC"
    monkeypatch.setenv("FUNCTIONCALL_TOKEN", "s3cret")
    assert JudgeClient(fc_guarded).judge(PY_SUM, "python", TESTS).status == "AC"          # from the environment
    with pytest.raises(JudgeServiceError) as e: JudgeClient(fc_guarded, token="nope").judge(PY_SUM, "python", TESTS)
    assert e.value.status == 401


@pytest.mark.parametrize("extra,code,msg", [
    ({"time_limit": 30}, 400, "(0, 2] seconds"),
    ({"memory_limit_mb": 65536}, 400, "[4, 512]"),
    ({"output_limit_mb": 1024}, 400, "[1, 8]"),
    ({"tests": TESTS * 2}, 400, "maximum of 3"),
    ({"code": "#" * (2 << 20)}, 413, "1 MiB"),
])
def test_requests_over_the_server_maxima_are_refused(fc_guarded, extra, code, msg):
    status, out = _post(fc_guarded + "/judge", {"code": PY_SUM, "language": "python", "tests": TESTS, **extra},
                        token="s3cret")
    assert status == code and msg in out["error"], out


def test_full_queue_sheds_load_and_the_client_retries(fc_guarded):
    import aiohttp
    slow = {"code": "import time\ntime.sleep(0.3)\nprint(input())", "language": "python",
            "tests": [{"input": "7", "output": "7"}]}

    async def raw():
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer s3cret"}) as s:
            async def one():
                async with s.post(fc_guarded + "/judge", json=slow) as r:
                    return r.status, r.headers.get("Retry-After")
            return await asyncio.gather(*(one() for _ in range(6)))
    got = asyncio.run(raw())
    codes = [c for c, _ in got]
    assert codes.count(200) >= 1 and codes.count(429) >= 1 and set(codes) <= {200, 429}, got
    assert all(ra and int(ra) >= 1 for c, ra in got if c == 429)
    c = JudgeClient(fc_guarded, token="s3cret")

    async def through_client():
        return await asyncio.gather(*(c.ajudge(slow["code"], "python", slow["tests"]) for _ in range(3)))
    assert [v.status for v in asyncio.run(through_client())] == ["AC"] * 3        # waited and retried
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(3) as ex:                                                # the blocking client too
        assert [v.status for v in ex.map(lambda _: c.judge(slow["code"], "python", slow["tests"]), range(3))] == ["AC"] * 3


def test_a_disconnected_client_cancels_its_job(fc_guarded):
    import aiohttp
    marker = f"{41 + time.time_ns() % 1000}.{time.time_ns() % 99991}"
    body = {"code": f"import subprocess\nsubprocess.run(['sleep', '{marker}'])", "language": "python",
            "tests": [{"input": "", "output": "1"}], "time_limit": 2}

    async def go():
        async with aiohttp.ClientSession(headers={"Authorization": "Bearer s3cret"}) as s:
            try:
                async with s.post(fc_guarded + "/judge", json=body, timeout=aiohttp.ClientTimeout(total=1.0)) as r:
                    await r.read()
            except asyncio.TimeoutError: pass
    asyncio.run(go())
    for _ in range(25):                     # well before the 4 s wall limit would have ended the run anyway
        with urllib.request.urlopen(fc_guarded + "/health", timeout=5) as r: h = json.loads(r.read())
        running = [d for d in os.listdir("/proc") if d.isdigit() and _cmd(d).find(marker) >= 0]
        if h["in_flight"] == 0 and not running: break
        time.sleep(0.1)
    assert h["in_flight"] == 0 and h["cancelled"] >= 1 and not running, (h, running)


def _cmd(pid):
    try: return open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except OSError: return ""

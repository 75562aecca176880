"""The embedded server stops itself after TTS_LOCAL_IDLE_S idle seconds, the next call brings it back, and a pytest
run that started the server stops it when it ends, leaving alone one it did not start (tests/conftest.py)."""
import json, os, subprocess, sys, time
from pathlib import Path
import pytest
from tts_nb import llm as L

@pytest.fixture()
def idle_dir(tmp_path, monkeypatch):
    "A private state dir (this test's own server, not the machine's shared one) with a 3 s idle period."
    monkeypatch.setenv("TTS_LOCAL_DIR", str(tmp_path/"local"))
    monkeypatch.setenv("TTS_LOCAL_IDLE_S", "3")
    yield tmp_path/"local"
    L.stop_local_server()

def wait_gone(pid, limit=30.0) -> float:
    t0 = time.time()
    while L._pid_alive(pid) and time.time() - t0 < limit: time.sleep(0.2)
    return time.time() - t0

def test_idle_server_stops_and_the_next_call_restarts_it(idle_dir):
    llm = L.LLM("local", cache=False)
    ask = lambda: llm.chat_sync([{"role": "user", "content": "Hi"}], max_tokens=2, temperature=0)
    assert ask()[0].tokens_completion > 0
    st = json.loads((idle_dir/"server.json").read_text())
    assert st["idle_s"] == 3 and L._is_watchdog(st["watchdog"]) and L._pid_alive(st["pid"])
    time.sleep(1.5)                       # a call inside the idle period keeps it alive
    assert ask()[0].tokens_completion > 0
    last = time.time()
    waited = wait_gone(st["pid"])
    gone_after = time.time() - last
    assert not L._pid_alive(st["pid"]), "the server outlived its idle period"
    assert 3 <= gone_after < 3 + 5 + 6, gone_after      # idle 3 s, after the 5 s keep-alive connection closes, + polling
    assert not (idle_dir/"server.json").exists() and not (idle_dir/"activity").exists()
    assert wait_gone(st["watchdog"], 5) < 5 and not L._pid_alive(st["watchdog"])
    assert "after 3s idle" in (idle_dir/"server.log").read_text()
    # the same client, next call: the server comes back (new process), with a new watchdog
    assert ask()[0].tokens_completion > 0
    st2 = json.loads((idle_dir/"server.json").read_text())
    assert st2["pid"] != st["pid"] and L._pid_alive(st2["pid"]) and L._is_watchdog(st2["watchdog"])
    assert llm.endpoints[0].url == f"http://127.0.0.1:{st2['port']}/v1"
    assert llm.ledger.error.isna().all()           # found stopped before sending: no failed attempt

RUN = """
from tts_nb.llm import LLM
def test_uses_local_model():
    assert LLM("local", cache=False).chat_sync([{"role": "user", "content": "Hi"}], max_tokens=2)[0].tokens_completion > 0
"""

def test_pytest_run_stops_the_server_it_started_and_only_that_one(tmp_path, monkeypatch):
    "tests/conftest.py: a pytest run stops at its end the server it started, and leaves one it found running."
    (tmp_path/"test_x.py").write_text(RUN)
    monkeypatch.setenv("TTS_LOCAL_DIR", str(tmp_path/"local"))
    monkeypatch.setenv("TTS_LOCAL_IDLE_S", "0")                         # no idle stop: only the hook can stop it
    monkeypatch.delenv("TTS_LOCAL_OWNER", raising=False)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    pytest_run = lambda: subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                                         str(tmp_path/"test_x.py")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    try:
        L.ensure_local_server()                                          # someone else's server, running before the run
        mine = json.loads((tmp_path/"local"/"server.json").read_text())["pid"]
        p = pytest_run()
        assert p.returncode == 0, p.stdout + p.stderr
        assert L._pid_alive(mine) and json.loads((tmp_path/"local"/"server.json").read_text())["pid"] == mine
        assert L.stop_local_server()
        p = pytest_run()                                                 # no server: the run starts one, and stops it
        assert p.returncode == 0, p.stdout + p.stderr
        assert (tmp_path/"local"/"server.log").read_text().count("Uvicorn running") == 2
        assert not (tmp_path/"local"/"server.json").exists()
        assert not [q for q in Path("/proc").glob("[0-9]*") if _is_server_in(q, tmp_path)]
    finally: L.stop_local_server()

def _is_server_in(proc_dir, tmp_path) -> bool:
    "Is this /proc entry a llama.cpp server whose log is under tmp_path (ours)?"
    try: return b"llama_cpp.server" in (proc_dir/"cmdline").read_bytes() and any(
        str(tmp_path) in os.readlink(fd) for fd in (proc_dir/"fd").iterdir())
    except OSError: return False

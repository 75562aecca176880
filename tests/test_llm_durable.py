"""Durable cache: a completion is in the cache file when `chat` returns, however the process ends afterwards."""
import json, os, signal, sqlite3, subprocess, sys
import pytest
from tts_nb.llm import LLM, ResponseCache
from tts_nb.testing import FakeOpenAIServer

def respond(messages, params, index):
    return f"answer to {messages[-1]['content']} #{index} seed={params.get('seed')}"

def rows(path) -> int:
    "Rows in the cache file, read with a fresh sqlite3 connection (what another process would see)."
    db = sqlite3.connect(path)
    try: return db.execute("SELECT count(*) FROM completions").fetchone()[0]
    finally: db.close()

def run(code, *args, timeout=120):
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=timeout)

NO_ACLOSE = """
import asyncio, sys
from tts_nb.llm import LLM
async def main():
    llm = LLM("fake", base_url=sys.argv[1], cache=sys.argv[2])      # dropped when main() returns
    return await asyncio.gather(*[llm.chat([{"role": "user", "content": f"q{i}"}], n=3, temperature=0.7, seed=i) for i in range(20)])
asyncio.run(main())                                # no aclose; the process ends right after
"""

def test_asyncio_run_without_aclose_keeps_every_sample(tmp_path):
    with FakeOpenAIServer(respond=respond, latency=0.01) as srv:
        p = run(NO_ACLOSE, srv.url, tmp_path/"c.sqlite")
        assert p.returncode == 0, p.stderr
        assert srv.requests == 60
    assert rows(tmp_path/"c.sqlite") == 60

KILLED = """
import asyncio, json, os, signal, sys
from tts_nb.llm import LLM
llm = LLM("fake", base_url=sys.argv[1], cache=sys.argv[2], supports_n=False)
async def go():
    return await asyncio.gather(*[llm.chat([{"role": "user", "content": f"q{i}"}], n=3, temperature=0.7, seed=i) for i in range(20)])
res = asyncio.run(go()) if sys.argv[3] == "async" else [llm.chat_sync([{"role": "user", "content": f"q{i}"}], n=3, temperature=0.7, seed=i) for i in range(20)]
sys.stdout.write(json.dumps([[c.text for c in r] for r in res]) + "\\n"); sys.stdout.flush()
os.kill(os.getpid(), signal.SIGKILL)               # right after the calls returned: no exit hook runs
"""

REPLAY = """
import asyncio, json, sys
from tts_nb.llm import LLM
llm = LLM("fake", base_url=sys.argv[1], cache=sys.argv[2], max_retries=0)
async def go():
    return await asyncio.gather(*[llm.chat([{"role": "user", "content": f"q{i}"}], n=3, temperature=0.7, seed=i) for i in range(20)])
res = asyncio.run(go())
print(json.dumps([[[c.text, c.cached] for c in r] for r in res]))
"""

@pytest.mark.parametrize("how", ["async", "sync"])
def test_sigkill_right_after_calls_return_loses_nothing(tmp_path, how):
    cache = tmp_path/"c.sqlite"
    with FakeOpenAIServer(respond=respond) as srv:
        url = srv.url
        p = run(KILLED, url, cache, how)
        assert p.returncode == -signal.SIGKILL, p.stderr
        texts = json.loads(p.stdout)
        assert srv.requests == 60
    # the server is gone: a request would fail (max_retries=0), so every answer must come from the file
    r = run(REPLAY, url, cache)
    assert r.returncode == 0, r.stderr
    replay = json.loads(r.stdout)
    assert [[t for t, _ in x] for x in replay] == texts
    assert all(cached for x in replay for _, cached in x)

def test_two_clients_on_one_file_share_writes(tmp_path):
    import asyncio
    (tmp_path/"sub").mkdir()
    with FakeOpenAIServer(respond=respond) as srv:
        a = LLM("fake", base_url=srv.url, cache=tmp_path/"c.sqlite")
        b = LLM("fake", base_url=srv.url, cache=tmp_path/"sub"/".."/"c.sqlite")     # the same file, spelled differently
        async def go():
            first = await asyncio.gather(*[a.chat([{"role": "user", "content": f"q{i}"}], n=2) for i in range(10)])
            sent = srv.requests
            second = await asyncio.gather(*[b.chat([{"role": "user", "content": f"q{i}"}], n=2) for i in range(10)])
            return first, sent, second
        first, sent, second = asyncio.run(go())
        assert srv.requests == sent == 20                                        # the second client sent nothing
    assert [[c.text for c in r] for r in second] == [[c.text for c in r] for r in first]
    assert b.ledger.cached.all() and not a.ledger.cached.any()
    assert a.cache is b.cache is ResponseCache(str(tmp_path/"c.sqlite"))        # one object per file per process

def test_deleted_cache_file_gets_a_fresh_object(tmp_path):
    p = tmp_path/"c.sqlite"
    c = ResponseCache(p)
    c.put("k", {"text": "x"})
    for f in tmp_path.glob("c.sqlite*"): f.unlink()
    d = ResponseCache(p)
    assert d is not c and d.get("k") is None and len(d) == 0
    d.put("k", {"text": "y"})
    assert rows(p) == 1

"""Cache: replay sends nothing, is process-safe, and refuses to answer from a corrupt file."""
import asyncio, subprocess, sys, sqlite3
import pytest
from tts_nb.llm import LLM, CacheCorruptError, ResponseCache
from tts_nb.testing import FakeOpenAIServer

def respond(messages, params, index):
    return f"answer to {messages[-1]['content']} #{index} seed={params.get('seed')}"

def fifty_calls(url, cache):
    llm = LLM("fake", base_url=url, cache=cache)
    async def go():
        try: return await asyncio.gather(*[llm.chat([{"role": "user", "content": f"q{i}"}], n=1 + i % 3, temperature=0.7, seed=i) for i in range(50)])
        finally: await llm.aclose()
    return llm, [[c.text for c in r] for r in asyncio.run(go())]

def test_second_run_makes_zero_requests(tmp_path):
    with FakeOpenAIServer(respond=respond) as srv:
        _, first = fifty_calls(srv.url, tmp_path/"c.sqlite")
        sent = srv.requests
        llm, second = fifty_calls(srv.url, tmp_path/"c.sqlite")
        assert srv.requests == sent                      # nothing sent the second time
    assert second == first
    assert llm.ledger.cached.all() and len(llm.ledger) == sum(1 + i % 3 for i in range(50))

WORKER = """
import asyncio, sys
from tts_nb.llm import LLM
llm = LLM("fake", base_url=sys.argv[1], cache=sys.argv[2])
async def go():
    try: return await asyncio.gather(*[llm.chat([{"role": "user", "content": f"q{i}"}], n=2) for i in range(30)])
    finally: await llm.aclose()
asyncio.run(go())
"""

def test_cache_is_safe_across_processes(tmp_path):
    with FakeOpenAIServer(respond=respond, latency=0.01) as srv:
        procs = [subprocess.Popen([sys.executable, "-c", WORKER, srv.url, str(tmp_path/"c.sqlite")]) for _ in range(3)]
        assert [p.wait(120) for p in procs] == [0, 0, 0]
        assert len(ResponseCache(tmp_path/"c.sqlite")) == 60
        sent = srv.requests
        subprocess.run([sys.executable, "-c", WORKER, srv.url, str(tmp_path/"c.sqlite")], check=True)
        assert srv.requests == sent

def test_corrupt_cache_is_a_clear_error(tmp_path):
    p = tmp_path/"c.sqlite"
    with FakeOpenAIServer(respond=respond) as srv: fifty_calls(srv.url, p)
    db = sqlite3.connect(p); db.execute("UPDATE completions SET value = replace(value, 'answer', 'ANSWER')"); db.commit(); db.close()
    with pytest.raises(CacheCorruptError, match="corrupt"): fifty_calls("http://127.0.0.1:9/v1", p)
    p2 = tmp_path/"garbage.sqlite"; p2.write_bytes(b"\x00garbage" * 1000)
    with pytest.raises(CacheCorruptError, match="delete it"): LLM("fake", base_url="http://127.0.0.1:9/v1", cache=p2)

"""Faults: a real HTTP server that injects 500s, 429s with Retry-After, dropped connections, garbage and hangs."""
import asyncio
from tts_nb.llm import LLM, LLMError
from tts_nb.testing import FakeOpenAIServer
import pytest

FAULTS = {"500": 0.08, "429": 0.08, "drop": 0.05, "garbage": 0.03, "hang": 0.01}

def chat_all(llm, k):
    async def go():
        try: return await asyncio.gather(*[llm.chat([{"role": "user", "content": f"question {i}"}], n=2) for i in range(k)])
        finally: await llm.aclose()
    return asyncio.run(go())

def test_200_chats_survive_every_fault():
    with FakeOpenAIServer(faults=FAULTS, retry_after=0.2, hang_s=4, seed=7) as srv:
        llm = LLM("fake", base_url=srv.url, cache=False, timeout=1.0, max_retries=10)
        results = chat_all(llm, 200)
    assert [len(r) for r in results] == [2] * 200
    assert all(c.text for r in results for c in r)
    assert sorted({c.index for r in results for c in r}) == [0, 1]
    led = llm.ledger
    failed = led[led.error.notna()]
    assert all(srv.kinds[k] > 0 for k in FAULTS), srv.kinds           # every fault kind really happened
    assert len(failed) == sum(srv.kinds[k] for k in FAULTS)           # every failed attempt is in the ledger
    assert len(led) - len(failed) == srv.kinds["ok"]
    assert failed.error.str.contains("429").sum() == srv.kinds["429"]
    assert (failed.error.str.contains("Timeout")).sum() == srv.kinds["hang"]

def test_retry_after_is_honoured():
    with FakeOpenAIServer(faults={"429": 1.0}, retry_after=0.5) as srv:
        llm = LLM("fake", base_url=srv.url, cache=False, max_retries=2)
        import time; t0 = time.perf_counter()
        with pytest.raises(LLMError, match=r"last status 429"): chat_all(llm, 1)
    assert time.perf_counter() - t0 >= 1.0                             # two waits of Retry-After 0.5 s
    assert srv.requests == 3

def test_error_names_endpoint_when_nothing_listens():
    import socket
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    llm = LLM("fake", base_url=f"http://127.0.0.1:{port}/v1", cache=False, max_retries=1)
    with pytest.raises(LLMError, match=f"127.0.0.1:{port}/v1: request failed after 2 attempts; last status no response"):
        chat_all(llm, 1)
    assert llm.ledger.error.notna().sum() == 2

def test_replicas_share_load_and_survive_one_dead_replica():
    with FakeOpenAIServer(latency=0.02) as good, FakeOpenAIServer(faults={"500": 1.0}) as bad:
        llm = LLM("fake", base_url=[good.url, bad.url], cache=False, max_retries=6)
        results = chat_all(llm, 40)
    assert [len(r) for r in results] == [2] * 40 and good.requests >= 40 and bad.requests > 0

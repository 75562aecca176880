"""Log-probabilities: the embedded llama.cpp model returns them, they are cached and replayed, they are part of the
cache key, and an endpoint that sends none is a clear error."""
import pytest
from tts_nb.llm import LLM, LogprobsUnavailable
from tts_nb.testing import FakeOpenAIServer

MSGS = [{"role": "user", "content": "Name a fruit."}]

def test_local_model_logprobs_are_returned_cached_and_replayed(tmp_path):
    llm = LLM("local", cache=tmp_path/"c.sqlite")
    c, = llm.chat_sync(MSGS, max_tokens=5, temperature=0.8, seed=1, logprobs=True, top_logprobs=3)
    assert c.logprobs and len(c.logprobs) == c.tokens_completion
    for t in c.logprobs:
        assert set(t) == {"token", "logprob", "top_logprobs"} and isinstance(t["token"], str)
        assert t["logprob"] <= 0 and len(t["top_logprobs"]) == 3 and t["top_logprobs"] == sorted(t["top_logprobs"], reverse=True)
        assert t["logprob"] <= t["top_logprobs"][0] + 1e-6
    again, = LLM("local", cache=tmp_path/"c.sqlite").chat_sync(MSGS, max_tokens=5, temperature=0.8, seed=1, logprobs=True, top_logprobs=3)
    assert again.cached and again.logprobs == c.logprobs and again.text == c.text
    # logprobs are part of the key: the same call without them is a new request, and carries none
    plain, = llm.chat_sync(MSGS, max_tokens=5, temperature=0.8, seed=1)
    assert not plain.cached and plain.logprobs is None

def test_endpoint_without_logprobs_is_a_clear_error(tmp_path):
    with FakeOpenAIServer() as srv:
        llm = LLM("fake", base_url=srv.url, cache=tmp_path/"c.sqlite")
        with pytest.raises(LogprobsUnavailable, match="returned no logprobs"):
            llm.chat_sync(MSGS, n=2, logprobs=True)
        assert srv.requests >= 1 and len(llm.cache) == 0          # nothing cached without the logprobs asked for
        assert llm.chat_sync(MSGS)[0].logprobs is None             # not asked for: no error

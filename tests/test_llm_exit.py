"""No "Unclosed client session" / "Unclosed connector" at exit: scripts (any way of running the loop), notebooks, papermill."""
import json, subprocess, sys
import pytest
from tts_nb.testing import FakeOpenAIServer

SCRIPT = """
import asyncio, gc, sys
from tts_nb.llm import LLM
url, mode = sys.argv[1], sys.argv[2]
msgs = [{"role": "user", "content": "hi"}]
llm = LLM("fake", base_url=url, cache=False)
if mode == "run":                                   # asyncio.run, no aclose
    print(asyncio.run(llm.chat(msgs, n=2))[0].text)
elif mode == "run_aclose":
    async def go():
        try: return await llm.chat(msgs, n=2)
        finally: await llm.aclose()
    print(asyncio.run(go())[0].text)
elif mode == "sync":                                # chat_sync: a background loop that never shuts down
    print(llm.chat_sync(msgs, n=2)[0].text)
elif mode == "mixed":
    print(llm.chat_sync(msgs)[0].text, asyncio.run(llm.chat(msgs, n=2))[0].text, asyncio.run(llm.chat(msgs, n=3))[0].text)
elif mode == "gc_in_loop":                          # clients dropped while their loop runs
    async def go():
        for i in range(3):
            c = LLM("fake", base_url=url, cache=False)
            await c.chat(msgs, n=2)
            del c; gc.collect(); await asyncio.sleep(0.05)
        return "ok"
    print(asyncio.run(go()))
elif mode == "closed_loop":                         # a loop closed without shutting down its async generators
    loop = asyncio.new_event_loop()
    print(loop.run_until_complete(llm.chat(msgs, n=2))[0].text)
    loop.close()
"""

MODES = ["run", "run_aclose", "sync", "mixed", "gc_in_loop", "closed_loop"]

@pytest.fixture(scope="module")
def server():
    with FakeOpenAIServer() as srv: yield srv

@pytest.mark.parametrize("mode", MODES)
def test_script_exits_without_unclosed_warnings(server, mode):
    p = subprocess.run([sys.executable, "-W", "default", "-c", SCRIPT, server.url, mode], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip()
    assert "Unclosed" not in p.stderr, p.stderr
    if mode != "closed_loop":   # there the loop is gone before exit; the sockets close with the process (ResourceWarning only under -W)
        assert "ResourceWarning" not in p.stderr, p.stderr

def test_papermill_notebook_has_no_unclosed_warnings(server, tmp_path):
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    new = lambda: f"LLM('fake', base_url={server.url!r}, cache=False)"
    nb.cells = [nbformat.v4.new_code_cell(s) for s in [
        f"import asyncio, gc\nfrom tts_nb.llm import LLM\nmsgs = [{{'role': 'user', 'content': 'hi'}}]\nllm = {new()}",
        "(await llm.chat(msgs, n=2))[0].text",
        "llm.chat_sync(msgs, n=2)[0].text",
        f"llm = {new()}   # the cell run again: the old client is dropped\ngc.collect()\n(await llm.chat(msgs))[0].text",
        "await asyncio.sleep(0.3)\nllm.chat_sync(msgs)[0].text"]]
    nbformat.write(nb, tmp_path/"in.ipynb")
    p = subprocess.run(["papermill", str(tmp_path/"in.ipynb"), str(tmp_path/"out.ipynb")], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    outputs = json.dumps([c.get("outputs") for c in json.loads((tmp_path/"out.ipynb").read_text())["cells"]])
    assert outputs.count("boxed{42}") == 4
    assert "Unclosed" not in outputs and "Unclosed" not in p.stderr, outputs + p.stderr

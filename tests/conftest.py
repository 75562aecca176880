"""Leave no embedded model server behind: at the end of the run, stop the shared llama.cpp server if this run started it.

The run labels the servers it (or any process it spawns) starts with TTS_LOCAL_OWNER; a server that someone else
started (another worker, a notebook, nbdev_test) is left alone and stops itself after TTS_LOCAL_IDLE_S idle seconds
(default 300).
"""
import os, time
from tts_nb import llm as L

def pytest_sessionstart(session):
    os.environ["TTS_LOCAL_OWNER"] = f"pytest-{os.getpid()}-{time.time():.0f}"

def pytest_sessionfinish(session, exitstatus):
    st = L._read_state()
    if st and st.get("owner") == os.environ.get("TTS_LOCAL_OWNER"): L.stop_local_server()

"""Leave no embedded model server behind: stop the shared llama.cpp server at the end of the run if this run started it.

A server that was already running when the run began belongs to someone else (another worker, a notebook) and is
left alone; it stops itself after TTS_LOCAL_IDLE_S idle seconds (default 300), as does one started by nbdev_test.
"""
from tts_nb import llm as L

def _server_pid():
    st = L._read_state()
    return st["pid"] if st and L._is_our_server(st["pid"]) else None

def pytest_sessionstart(session):
    session.config._tts_local_server_before = _server_pid()

def pytest_sessionfinish(session, exitstatus):
    pid = _server_pid()
    if pid is not None and pid != getattr(session.config, "_tts_local_server_before", None): L.stop_local_server()

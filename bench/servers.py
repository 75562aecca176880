"""The benchmarks' test server: `tts_nb.testing.FakeOpenAIServer` run in a child process.

The fake server is a real aiohttp OpenAI-compatible server with unlimited parallelism and a fixed latency. (A bare
asyncio-protocol server was tried as a cheaper stand-in: on this VM it costs as much CPU per request, about 0.25 ms,
because socket syscalls dominate, so FakeOpenAIServer stays.) Running the server in its own process keeps its CPU
(and its GIL) out of the measured client process, so `time.process_time()` of the benchmark is the client's alone.

    python -m bench.servers --latency 0.2 [--supports-n]   # prints the base URL; reads commands from stdin:
                                                          #   "stats" -> one JSON line; EOF -> stop
"""
from __future__ import annotations
import argparse, hashlib, json, os, re, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_FILLER = ("We set up the notation and check the small cases first. Each step below follows from the previous one by "
           "a direct computation, and we verify the arithmetic twice before moving on. ")


def _h(*parts) -> int:
    "A stable 64-bit hash of the parts."
    return int.from_bytes(hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


_TERMS = re.compile(r"Let x = (\d+) \+ (\d+)\.")


def bench_respond(messages, params, index) -> str:
    "Deterministic plausible answers: boxed integers (right about 5 times in 8), pairwise and select verdicts."
    user = messages[-1]["content"]
    h = _h(user[-400:], len(user), params.get("seed"), params.get("temperature"), index)
    if "Better Solution:" in user: return f"Solution {1 + h % 2} is more rigorous.\nBetter Solution: Solution {1 + h % 2}"
    if "Selected:" in user: return "The first candidate is best.\nSelected: 1"
    if "Score:" in user: return f"Mostly right.\nScore: {h % 11}"
    m = _TERMS.search(user)
    right = int(m[1]) + int(m[2]) if m else 42
    k = right if h % 8 < 5 else right + 1 + h % 3
    return f"{_FILLER * 3}Step {h % 97}: adding the terms gives {k}.\nTherefore the answer is \\boxed{{{k}}}."


def serve(latency: float, supports_n: bool):
    "Run a FakeOpenAIServer until stdin closes; answer `stats` lines with a JSON line."
    from tts_nb.testing import FakeOpenAIServer
    srv = FakeOpenAIServer(bench_respond, latency=latency, supports_n=supports_n)
    srv.keep_bodies = False                      # unbounded memory otherwise
    with srv:
        print(srv.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                print(json.dumps(dict(requests=srv.requests, max_inflight=srv.max_inflight)), flush=True)


class ServerProcess:
    "A FakeOpenAIServer in a child process: `.url`, `.stats()`, `.cpu_s()` (the child's CPU seconds)."
    def __init__(self, latency: float = 0.2, supports_n: bool = False):
        self.latency, self.supports_n = latency, supports_n

    def __enter__(self):
        cmd = [sys.executable, "-m", "bench.servers", "--latency", str(self.latency)] + (["--supports-n"] if self.supports_n else [])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"): self.proc.kill(); raise RuntimeError(f"fake server failed to start: {self.url!r}")
        return self

    def stats(self) -> dict:
        "Requests served so far and the most in flight at once."
        self.proc.stdin.write("stats\n"); self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def cpu_s(self) -> float:
        "CPU seconds (user + system) the server process has used."
        f = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc):
        self.proc.stdin.close()
        try: self.proc.wait(15)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--supports-n", action="store_true")
    a = ap.parse_args()
    serve(a.latency, a.supports_n)

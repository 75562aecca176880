"""Client for one or more judge servers (`python -m functioncall.serve`): same calls as the local judge, spread over
the servers by least outstanding requests, with failover when a server cannot be reached, waiting and retrying when
every server is busy (429 + Retry-After), and the servers' token (`token=` or FUNCTIONCALL_TOKEN) on every request."""
from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from .verdict import JudgeError, Verdict

__all__ = ["JudgeClient", "JudgeServiceError"]


class JudgeServiceError(JudgeError):
    """A judge server refused the request (4xx, with its message) or no server could answer."""
    def __init__(self, msg, status: int | None = None):
        super().__init__(msg)
        self.status = status


def _source(x):
    "Checker/interactor for the wire: local files are read and sent as source text."
    if x is None: return None
    if isinstance(x, Path) or (isinstance(x, str) and "\n" not in x and "#include" not in x): return Path(x).read_text()
    return x


class _Busy(Exception):
    "A server answered 429: wait this long."
    def __init__(self, wait: float, msg: str):
        super().__init__(msg)
        self.wait = wait


def _retry_after(value) -> float:
    try: return min(60.0, max(0.1, float(value)))
    except (TypeError, ValueError): return 1.0



class _Round:
    "One pass over the servers, whatever the transport: those tried, the last error, the shortest 429 wait."
    def __init__(self, client): self.client, self.tried, self.last, self.busy = client, set(), None, None

    def next(self) -> str | None:
        "The next server to try in this pass, or None when every one was tried."
        u = self.client._pick(self.tried)
        if u is not None: self.tried.add(u)
        return u

    def unreachable(self, u: str, error: str):
        "`u` did not answer: avoid it for a while."
        self.client._done(u, False); self.last = error

    def answer(self, u: str, status: int, raw: bytes, retry_after=None) -> Verdict | None:
        "The Verdict of a reply, or None to go on (a 429 remembers its wait; a server error its text)."
        try: got = self.client._answer(u, status, raw, retry_after)
        except _Busy as b:
            if self.busy is None or b.wait < self.busy.wait: self.busy = b
            return None
        if isinstance(got, Verdict): return got
        self.last = got

    def pause(self, deadline: float) -> float:
        "Seconds to wait before the next pass; JudgeServiceError when no server is busy-but-alive or time is up."
        if self.busy is None or time.monotonic() + self.busy.wait > deadline:
            raise JudgeServiceError(f"no judge server could answer; last error: {self.busy or self.last}", 429 if self.busy else None)
        return self.busy.wait * (1 + random.random() / 4)

class JudgeClient:
    """Judge through several servers; `urls` like ['http://judge1:8642', 'http://judge2:8642'].
    `token`: the servers' token (default $FUNCTIONCALL_TOKEN), sent as `Authorization: Bearer`."""
    def __init__(self, urls, timeout: float = 3600, down_for: float = 5.0, token: str | None = None):
        self.urls = [u.rstrip("/") for u in ([urls] if isinstance(urls, str) else urls)]
        if not self.urls: raise ValueError("JudgeClient needs at least one URL")
        self.timeout, self.down_for = timeout, down_for
        self.token = token if token is not None else (os.environ.get("FUNCTIONCALL_TOKEN") or None)
        self.headers = {"Content-Type": "application/json"}
        if self.token: self.headers["Authorization"] = f"Bearer {self.token}"
        self.outstanding = {u: 0 for u in self.urls}
        self.served = {u: 0 for u in self.urls}
        self.down_until = {u: 0.0 for u in self.urls}
        self._lock = threading.Lock()
        self._rr = 0

    def _pick(self, avoid=()) -> str | None:
        "The reachable server with the fewest requests in flight (round robin among ties)."
        with self._lock:
            now = time.monotonic()
            cands = [u for u in self.urls if u not in avoid and self.down_until[u] <= now] or \
                    [u for u in self.urls if u not in avoid]
            if not cands: return None
            self._rr += 1
            u = min(cands, key=lambda u: (self.outstanding[u], (self.urls.index(u) - self._rr) % len(self.urls)))
            self.outstanding[u] += 1
            return u

    def _done(self, u, ok: bool | None):
        with self._lock:
            self.outstanding[u] -= 1
            if ok: self.served[u] += 1
            if ok is False: self.down_until[u] = time.monotonic() + self.down_for

    @staticmethod
    def _judge_body(code, language, tests, time_limit, memory_limit_mb, checker, stop_on_first_failure,
                    interactor=None, output_limit_mb=None):
        "The request (output_limit_mb only when given: the server's default is at most OUTPUT_LIMIT_MB)."
        b = dict(code=code, language=language, tests=list(tests), time_limit=time_limit, memory_limit_mb=memory_limit_mb,
                 checker=_source(checker), interactor=_source(interactor), stop_on_first_failure=stop_on_first_failure)
        if output_limit_mb is not None: b["output_limit_mb"] = output_limit_mb
        return b

    @staticmethod
    def _problem_body(code, language, problem_dir, stop_on_first_failure=True, cases=None):
        return dict(code=code, language=language, problem_dir=str(problem_dir), stop_on_first_failure=stop_on_first_failure,
                    cases=list(cases) if cases is not None else None)

    def _answer(self, u: str, status: int, raw: bytes, retry_after=None) -> Verdict | str:
        """A server's reply as a Verdict, or the error to fail over with; 429 raises _Busy (wait, then retry);
        another 4xx raises JudgeServiceError (the request is at fault)."""
        if status < 400:
            self._done(u, True)
            return Verdict.from_dict(json.loads(raw))
        if status == 429:
            self._done(u, None)
            raise _Busy(_retry_after(retry_after), f"{u}: 429 {_error_text(raw)}")
        self._done(u, None if status < 500 else False)
        if status < 500: raise JudgeServiceError(f"{u}: {status} {_error_text(raw)}", status)
        return f"{u}: {status} {_error_text(raw)}"

    # --- blocking ---
    def _post(self, path: str, body: dict) -> Verdict:
        data, deadline = json.dumps(body).encode(), time.monotonic() + self.timeout
        while True:
            rnd = _Round(self)
            while (u := rnd.next()) is not None:
                req = urllib.request.Request(u + path, data=data, headers=self.headers)
                try:
                    with urllib.request.urlopen(req, timeout=self.timeout) as r: status, raw, ra = r.status, r.read(), None
                except urllib.error.HTTPError as e: status, raw, ra = e.code, e.read(), e.headers.get("Retry-After")
                except (urllib.error.URLError, OSError, TimeoutError) as e:
                    rnd.unreachable(u, f"{u}: {e}")
                    continue
                if (v := rnd.answer(u, status, raw, ra)) is not None: return v
            time.sleep(rnd.pause(deadline))

    def judge(self, code, language, tests, time_limit=1.0, memory_limit_mb=256, checker=None,
              stop_on_first_failure=True, **kw) -> Verdict:
        "`functioncall.judge` on a server."
        return self._post("/judge", self._judge_body(code, language, tests, time_limit, memory_limit_mb, checker,
                                                     stop_on_first_failure, **kw))

    def judge_problem_dir(self, code, language, problem_dir, stop_on_first_failure=True, cases=None) -> Verdict:
        "`functioncall.judge_problem_dir` on a server (`problem_dir` is a path on the server's machine)."
        return self._post("/judge_problem_dir", self._problem_body(code, language, problem_dir, stop_on_first_failure, cases))

    def health(self) -> dict:
        "Each server's /health answer (or the error)."
        out = {}
        for u in self.urls:
            try:
                req = urllib.request.Request(u + "/health", headers=self.headers)
                with urllib.request.urlopen(req, timeout=10) as r: out[u] = json.loads(r.read())
            except (urllib.error.URLError, OSError) as e: out[u] = {"ok": False, "error": str(e)}
        return out

    # --- async ---
    async def _apost(self, path: str, body: dict) -> Verdict:
        import aiohttp
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        data, deadline = json.dumps(body).encode(), time.monotonic() + self.timeout
        async with aiohttp.ClientSession(timeout=timeout, headers=self.headers) as session:
            while True:
                rnd = _Round(self)
                while (u := rnd.next()) is not None:
                    try:
                        async with session.post(u + path, data=data) as r:
                            status, raw, ra = r.status, await r.read(), r.headers.get("Retry-After")
                    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                        rnd.unreachable(u, f"{u}: {e!r}")
                        continue
                    if (v := rnd.answer(u, status, raw, ra)) is not None: return v
                await asyncio.sleep(rnd.pause(deadline))

    async def ajudge(self, code, language, tests, time_limit=1.0, memory_limit_mb=256, checker=None,
                     stop_on_first_failure=True, **kw) -> Verdict:
        "`functioncall.ajudge` on a server."
        return await self._apost("/judge", self._judge_body(code, language, tests, time_limit, memory_limit_mb, checker,
                                                            stop_on_first_failure, **kw))

    async def ajudge_problem_dir(self, code, language, problem_dir, stop_on_first_failure=True, cases=None) -> Verdict:
        "`functioncall.ajudge_problem_dir` on a server."
        return await self._apost("/judge_problem_dir", self._problem_body(code, language, problem_dir, stop_on_first_failure, cases))


def _error_text(raw: bytes) -> str:
    try: return json.loads(raw).get("error", "") or raw.decode("utf-8", "replace")[:500]
    except (ValueError, AttributeError): return raw.decode("utf-8", "replace")[:500]

"""Prototype: a lean HTTP/1.1 keep-alive transport for `tts_nb.llm.LLM(transport=...)` on raw asyncio protocols.

aiohttp's client costs about 0.3-0.5 ms of CPU per request on this machine (most of the client's hot path). An
OpenAI-compatible chat call needs very little of HTTP: one POST with a JSON body, one response with a
Content-Length (or chunked) body, keep-alive. This transport does just that for `http://` endpoints and hands
`https://` (and proxies) to the stock `HTTPTransport`. It is a benchmark prototype of proposed fix F6, not library code.
"""
from __future__ import annotations
import asyncio, json
from urllib.parse import urlsplit
from tts_nb.llm import HTTPTransport, _Transient, _raise_for


class _Conn(asyncio.Protocol):
    "One keep-alive connection: at most one request at a time."
    def __init__(self):
        self.transport, self.fut, self.buf, self.closed = None, None, bytearray(), False
        self.head = None                       # (status, headers) once parsed
        self.need = None                       # body bytes still needed (Content-Length), or "chunked"

    def connection_made(self, transport): self.transport = transport

    def connection_lost(self, exc):
        self.closed = True
        if self.fut is not None and not self.fut.done() and self.head is not None and self.need == -1 and exc is None:
            self.fut.set_result((*self.head, bytes(self.buf)))          # a body delimited by the end of the connection
        elif self.fut is not None and not self.fut.done():
            self.fut.set_exception(ConnectionError(f"connection lost: {exc or 'closed by server'}"))

    def send(self, data: bytes, fut):
        self.fut, self.head, self.buf = fut, None, bytearray()
        self.transport.write(data)

    def data_received(self, data):
        self.buf += data
        if self.head is None:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0: return
            lines = bytes(self.buf[:i]).decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
            self.head, self.buf = (status, headers), self.buf[i + 4:]
            self.need = "chunked" if "chunked" in headers.get("transfer-encoding", "") else int(headers.get("content-length", -1))
        self._maybe_done()

    def _maybe_done(self):
        if self.need == "chunked": body = _dechunk(self.buf)
        elif self.need >= 0: body = bytes(self.buf) if len(self.buf) >= self.need else None
        else: body = None                      # no length: the body ends with the connection (connection_lost)
        if body is None or self.fut is None or self.fut.done(): return
        status, headers = self.head
        if headers.get("connection", "").lower() == "close": self.closed = True; self.transport.close()
        self.fut.set_result((status, headers, body))


def _dechunk(buf: bytearray) -> bytes | None:
    "The body of a complete chunked message, or None while incomplete."
    out, i = bytearray(), 0
    while True:
        j = buf.find(b"\r\n", i)
        if j < 0: return None
        size = int(bytes(buf[i:j]).split(b";")[0], 16)
        if size == 0: return bytes(out) if buf.find(b"\r\n", j + 2) >= 0 else None
        if len(buf) < j + 2 + size + 2: return None
        out += buf[j + 2:j + 2 + size]; i = j + 2 + size + 2


class LeanTransport:
    "POST /chat/completions over pooled raw asyncio connections (http:// only; https:// goes to aiohttp)."
    def __init__(self, api_key: str | None = None, timeout: float = 600):
        self.timeout, self.api_key, self._pools, self._fallback = timeout, api_key, {}, HTTPTransport(api_key, timeout)
        self._prefix = {}

    def _head(self, url: str):
        "(host, port, request-line-and-headers prefix) for an endpoint URL."
        if url not in self._prefix:
            u = urlsplit(url)
            auth = f"Authorization: Bearer {self.api_key}\r\n" if self.api_key else ""
            self._prefix[url] = (u.hostname, u.port or 80, (f"POST {u.path.rstrip('/')}/chat/completions HTTP/1.1\r\nHost: {u.netloc}\r\n"
                                                              f"Content-Type: application/json\r\nAccept: application/json\r\n{auth}").encode())
        return self._prefix[url]

    async def _conn(self, host, port) -> _Conn:
        loop = asyncio.get_running_loop()
        idle = self._pools.setdefault((loop, host, port), [])
        while idle:
            c = idle.pop()
            if not c.closed: return c
        _, c = await loop.create_connection(_Conn, host, port)
        return c

    async def _exchange(self, host, port, req: bytes):
        "(status, headers, body) of one request on a pooled (or new) connection."
        loop = asyncio.get_running_loop()
        c = await self._conn(host, port)
        fut = loop.create_future()
        c.send(req, fut)
        timer = loop.call_later(self.timeout, lambda: fut.done() or fut.set_exception(asyncio.TimeoutError()))
        try: status, headers, raw = await fut
        except BaseException:
            c.closed = True; c.transport.close(); raise
        finally: timer.cancel(); c.fut = None
        if not c.closed: self._pools[(loop, host, port)].append(c)
        return status, headers, raw

    async def post(self, url: str, body: dict, index: int = 0) -> dict:
        if not url.startswith("http://"): return await self._fallback.post(url, body, index)
        host, port, head = self._head(url)
        data = json.dumps(body).encode()
        try: status, headers, raw = await self._exchange(host, port, head + b"Content-Length: %d\r\n\r\n" % len(data) + data)
        except (OSError, asyncio.TimeoutError, ValueError) as e: raise _Transient(None, f"{type(e).__name__}: {e}") from e
        if status != 200: _raise_for(status, raw, {"Retry-After": headers["retry-after"]} if "retry-after" in headers else {})
        try: return json.loads(raw)
        except ValueError: raise _Transient(200, f"non-JSON body: {raw[:200]!r}")

    async def aclose(self):
        "Close the connections of the running loop."
        loop = asyncio.get_running_loop()
        for key in [k for k in self._pools if k[0] is loop]:
            for c in self._pools.pop(key):
                if c.transport: c.transport.close()
        await self._fallback.aclose()

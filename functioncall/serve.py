"""The judge over HTTP, so that judge machines can be added: `python -m functioncall.serve --port 8642`.

    GET  /health             -> {"ok": true, "isolation": ..., "slots": n, "in_flight": n, "served": n, "shed": n, ...}
    POST /judge              {code, language, tests, time_limit?, memory_limit_mb?, checker?, interactor?,
                              stop_on_first_failure?, output_limit_mb?}                    -> Verdict.to_dict()
    POST /judge_problem_dir  {code, language, problem_dir, stop_on_first_failure?, cases?} -> Verdict.to_dict()

Safe to expose:
- `--token T` (or FUNCTIONCALL_TOKEN): POSTs need `Authorization: Bearer T` (401 otherwise). A token is required to
  bind anything but a loopback address; `JudgeClient` sends FUNCTIONCALL_TOKEN (or its `token=`).
- Server-side maxima (`--max-time-limit`, `--max-memory-mb`, `--max-output-mb`, `--max-tests`, `--max-body-mb`):
  requests beyond them get 400 (413 for the body) with a message naming the maximum.
- A bounded queue (`--max-queue`, default 4 per slot): beyond it, 429 with Retry-After (the client waits and retries).
- A job whose client disconnects is cancelled (its sandboxes killed); submissions run in threads, large bodies are
  parsed off the event loop, so /health answers at once.
- Bundles only with `--problems-root DIR` (repeatable): `problem_dir` must lie under one (relative paths are resolved
  against the first); a bundle's checker/interactor/test paths must stay inside the bundle (symlinks included).
`checker`/`interactor` are C++ source text. A broken checker or missing testlib is 422; an internal failure is 500.
"""
from __future__ import annotations

import argparse
import asyncio
import hmac
import ipaddress
import json
import math
import os
import socket
import sys
from pathlib import Path

from aiohttp import web

from .bundle import BundleError
from .compiler import TestlibMissing
from .judge import OUTPUT_LIMIT_MB, JudgeCancelled, ajudge, ajudge_problem_dir
from .sandbox import SLOTS, isolation_level
from .verdict import JudgeError

__all__ = ["make_app", "main", "Limits"]


class Limits:
    "Server-side maxima for one request."
    def __init__(self, max_time_limit: float = 10.0, max_memory_mb: int = 2048, max_output_mb: int = OUTPUT_LIMIT_MB,
                 max_tests: int = 1000, max_body_mb: int = 64, max_queue: int | None = None):
        self.max_time_limit, self.max_memory_mb, self.max_output_mb = float(max_time_limit), int(max_memory_mb), int(max_output_mb)
        self.max_tests, self.max_body = int(max_tests), int(max_body_mb) << 20
        self.max_queue = int(max_queue) if max_queue else 4 * SLOTS.n

    @property
    def default_output_mb(self) -> int:
        "The output limit of a request that names none."
        return min(OUTPUT_LIMIT_MB, self.max_output_mb)


class BadRequest(ValueError):
    """A request the server will not judge."""
    def __init__(self, msg, status: int = 400):
        super().__init__(msg)
        self.status = status


def _get(body: dict, key: str, types, default=..., check=None, why=""):
    "Field `key` of the request, type-checked."
    if key not in body or body[key] is None:
        if default is ...: raise BadRequest(f"missing field {key!r}")
        return default
    v = body[key]
    if not isinstance(v, types) or (isinstance(v, bool) and types is not bool):
        raise BadRequest(f"field {key!r} has the wrong type ({type(v).__name__})")
    if check and not check(v): raise BadRequest(f"field {key!r} has an invalid value" + (f": {why}" if why else ""))
    return v


def _source_field(body: dict, key: str):
    v = _get(body, key, str, None)
    if v is not None and "\n" not in v: raise BadRequest(f"field {key!r} must be C++ source text, not a path")
    return v


def _problem_dir(raw: str, roots: list[Path]) -> str:
    "The bundle path, confined to --problems-root."
    if not roots:
        raise BadRequest("this server serves no problem bundles: start it with --problems-root DIR", 403)
    if "\0" in raw: raise BadRequest("problem_dir contains a NUL byte")
    p = Path(raw)
    cand = (p if p.is_absolute() else roots[0] / p).resolve()
    if not any(cand == r or r in cand.parents for r in roots): raise BadRequest("problem_dir is outside the served problems")
    return str(cand)


def _loopback(host: str) -> bool:
    "Whether every address `host` names is a loopback address."
    try: return ipaddress.ip_address(host).is_loopback
    except ValueError: pass
    try: infos = socket.getaddrinfo(host, None)
    except OSError: return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback for i in infos)


def make_app(problems_roots=(), token: str | None = None, limits: Limits | None = None) -> web.Application:
    "The aiohttp application (also usable in-process, e.g. with aiohttp's test server)."
    roots = [Path(r).resolve() for r in problems_roots]
    lim = limits or Limits()
    stats = {"in_flight": 0, "served": 0, "shed": 0, "cancelled": 0}
    isolation = isolation_level()            # probes the sandbox once, now, not on the event loop later
    want = f"Bearer {token}".encode() if token else None

    def error(msg, status, **headers): return web.json_response({"error": msg}, status=status, headers=headers or None)

    async def body_of(request: web.Request) -> dict:
        if request.content_length is not None and request.content_length > lim.max_body:
            raise BadRequest(f"request body of {request.content_length} bytes is over this server's maximum of "
                             f"{lim.max_body >> 20} MiB", 413)
        try: raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise BadRequest(f"request body is over this server's maximum of {lim.max_body >> 20} MiB", 413) from None
        try:
            if len(raw) > 1 << 18: body = await asyncio.get_running_loop().run_in_executor(None, json.loads, raw)
            else: body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError): raise BadRequest("the body is not valid JSON") from None
        if not isinstance(body, dict): raise BadRequest("the body must be a JSON object")
        return body

    async def run(coro_fn, request):
        if want is not None and not hmac.compare_digest(request.headers.get("Authorization", "").encode(), want):
            return error("missing or wrong token (send Authorization: Bearer <token>)", 401)
        if stats["in_flight"] >= lim.max_queue:
            stats["shed"] += 1
            wait = max(1, min(30, math.ceil(stats["in_flight"] / max(1, SLOTS.n) * 0.5)))
            return error(f"the judge is busy ({stats['in_flight']} submissions queued or running): retry later", 429,
                         **{"Retry-After": str(wait)})
        stats["in_flight"] += 1
        try:
            try:
                body = await body_of(request)
                coro = coro_fn(body)
            except BadRequest as e: return error(str(e), e.status)
            except (ValueError, TypeError) as e: return error(str(e), 400)
            try: verdict = await coro
            except asyncio.CancelledError:
                stats["cancelled"] += 1
                raise
            except JudgeCancelled as e: return error(str(e), 503)
            except (BadRequest, BundleError, ValueError, TypeError) as e: return error(str(e), getattr(e, "status", 400))
            except TestlibMissing as e: return error(str(e), 422)
            except JudgeError as e: return error(str(e), 422 if "checker" in str(e) or "interactor" in str(e) else 500)
        finally: stats["in_flight"] -= 1
        stats["served"] += 1
        return web.json_response(verdict.to_dict())

    def judge_call(b):
        tl = _get(b, "time_limit", (int, float), 1.0, lambda v: 0 < v <= lim.max_time_limit,
                  f"must be in (0, {lim.max_time_limit:g}] seconds on this server")
        ml = _get(b, "memory_limit_mb", int, 256, lambda v: 4 <= v <= lim.max_memory_mb,
                  f"must be in [4, {lim.max_memory_mb}] MiB on this server")
        out = _get(b, "output_limit_mb", int, lim.default_output_mb, lambda v: 1 <= v <= lim.max_output_mb,
                   f"must be in [1, {lim.max_output_mb}] MiB on this server")
        tests = _get(b, "tests", list)
        if len(tests) > lim.max_tests: raise BadRequest(f"{len(tests)} tests is over this server's maximum of {lim.max_tests}")
        return ajudge(_get(b, "code", str), _get(b, "language", str), tests, time_limit=tl, memory_limit_mb=ml,
                      checker=_source_field(b, "checker"), stop_on_first_failure=_get(b, "stop_on_first_failure", bool, True),
                      interactor=_source_field(b, "interactor"), output_limit_mb=out)

    def problem_call(b):
        cases = _get(b, "cases", list, None)   # their values are checked by judge_problem_dir (a ValueError: 400)
        if cases is not None and len(cases) > lim.max_tests:
            raise BadRequest(f"{len(cases)} cases is over this server's maximum of {lim.max_tests}")
        pdir = _problem_dir(_get(b, "problem_dir", str), roots)
        if not os.path.isdir(pdir): raise BadRequest(f"problem_dir {pdir!r} is not a directory on the judge server")
        return ajudge_problem_dir(_get(b, "code", str), _get(b, "language", str), pdir,
                                  stop_on_first_failure=_get(b, "stop_on_first_failure", bool, True), cases=cases,
                                  output_limit_mb=lim.default_output_mb)

    async def health(request):
        return web.json_response({"ok": True, "isolation": isolation, "slots": SLOTS.n, "queue_max": lim.max_queue,
                                  "auth": want is not None, **stats})

    async def judge_h(request): return await run(judge_call, request)
    async def problem_h(request): return await run(problem_call, request)

    app = web.Application(client_max_size=lim.max_body)
    app.add_routes([web.get("/health", health), web.post("/judge", judge_h), web.post("/judge_problem_dir", problem_h)])
    return app


def main(argv=None):
    "Command line entry point."
    ap = argparse.ArgumentParser(prog="python -m functioncall.serve", description="functioncall judge server")
    ap.add_argument("--port", type=int, default=8642)
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only; others need a token)")
    ap.add_argument("--token", default=os.environ.get("FUNCTIONCALL_TOKEN") or None,
                    help="require 'Authorization: Bearer TOKEN' (default $FUNCTIONCALL_TOKEN)")
    ap.add_argument("--problems-root", action="append", default=[], help="serve problem dirs under this dir (repeatable)")
    ap.add_argument("--max-time-limit", type=float, default=10.0, help="seconds per test (default 10)")
    ap.add_argument("--max-memory-mb", type=int, default=2048)
    ap.add_argument("--max-output-mb", type=int, default=OUTPUT_LIMIT_MB)
    ap.add_argument("--max-tests", type=int, default=1000)
    ap.add_argument("--max-body-mb", type=int, default=64)
    ap.add_argument("--max-queue", type=int, default=0, help="submissions queued or running before 429 (default 4 x slots)")
    a = ap.parse_args(argv)
    if not a.token and not _loopback(a.host):
        ap.error(f"binding {a.host} (not loopback) needs a token: --token or FUNCTIONCALL_TOKEN")
    lim = Limits(a.max_time_limit, a.max_memory_mb, a.max_output_mb, a.max_tests, a.max_body_mb, a.max_queue)
    sys.setswitchinterval(0.001)             # judging threads hand the GIL back to the event loop sooner
    web.run_app(make_app(a.problems_root, a.token, lim), host=a.host, port=a.port, handler_cancellation=True,
                print=lambda *x: print(*x, flush=True))


if __name__ == "__main__":
    main()

"""The judge over HTTP, so that judge machines can be added: `python -m functioncall.serve --port 8642`.

    GET  /health             -> {"ok": true, "isolation": ..., "slots": n, "in_flight": n, "served": n}
    POST /judge              {code, language, tests, time_limit?, memory_limit_mb?, checker?, interactor?,
                              stop_on_first_failure?, output_limit_mb?}                    -> Verdict.to_dict()
    POST /judge_problem_dir  {code, language, problem_dir, stop_on_first_failure?, cases?} -> Verdict.to_dict()

`checker`/`interactor` are C++ source text. `problem_dir` is a path on the server's machine (the server reads the
bundle itself; ship the bundles to every judge machine, or share them); with `--problems-root DIR` only bundles under
DIR are served and relative paths are resolved against it. Bad requests get 4xx with {"error": message}; a broken
checker or missing testlib is 422; an internal failure is 500. Binds 127.0.0.1 unless told otherwise: the server
runs code for whoever can reach it.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from aiohttp import web

from .bundle import BundleError
from .compiler import TestlibMissing
from .judge import OUTPUT_LIMIT_MB, ajudge, ajudge_problem_dir
from .sandbox import SLOTS, isolation_level
from .verdict import JudgeError

__all__ = ["make_app", "main"]
MAX_BODY = 512 << 20


class BadRequest(ValueError):
    """A request the server will not judge."""


def _get(body: dict, key: str, types, default=..., check=None):
    "Field `key` of the request, type-checked."
    if key not in body or body[key] is None:
        if default is ...: raise BadRequest(f"missing field {key!r}")
        return default
    v = body[key]
    if not isinstance(v, types) or (isinstance(v, bool) and types is not bool):
        raise BadRequest(f"field {key!r} has the wrong type ({type(v).__name__})")
    if check and not check(v): raise BadRequest(f"field {key!r} has an invalid value")
    return v


def _source_field(body: dict, key: str):
    v = _get(body, key, str, None)
    if v is not None and "\n" not in v: raise BadRequest(f"field {key!r} must be C++ source text, not a path")
    return v


def _problem_dir(raw: str, roots: list[Path]) -> str:
    "The bundle path, confined to --problems-root when given."
    if not roots: return raw
    p = Path(raw)
    cand = (p if p.is_absolute() else roots[0] / p).resolve()
    if not any(cand == r or r in cand.parents for r in roots): raise BadRequest("problem_dir is outside the served problems")
    return str(cand)


async def _body(request: web.Request) -> dict:
    try: body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError): raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict): raise BadRequest("the body must be a JSON object")
    return body


def make_app(problems_roots=()) -> web.Application:
    "The aiohttp application (also usable in-process, e.g. with aiohttp's test server)."
    roots = [Path(r).resolve() for r in problems_roots]
    stats = {"in_flight": 0, "served": 0}

    async def run(coro_fn, request):
        try:
            body = await _body(request)
            coro = coro_fn(body)
        except (BadRequest, ValueError, TypeError) as e: return web.json_response({"error": str(e)}, status=400)
        stats["in_flight"] += 1
        try: verdict = await coro
        except (BadRequest, BundleError, ValueError, TypeError) as e: return web.json_response({"error": str(e)}, status=400)
        except TestlibMissing as e: return web.json_response({"error": str(e)}, status=422)
        except JudgeError as e:
            status = 422 if "checker" in str(e) or "interactor" in str(e) else 500
            return web.json_response({"error": str(e)}, status=status)
        finally: stats["in_flight"] -= 1
        stats["served"] += 1
        return web.json_response(verdict.to_dict())

    def judge_call(b):
        return ajudge(_get(b, "code", str), _get(b, "language", str), _get(b, "tests", list),
                      time_limit=_get(b, "time_limit", (int, float), 1.0), memory_limit_mb=_get(b, "memory_limit_mb", int, 256),
                      checker=_source_field(b, "checker"), stop_on_first_failure=_get(b, "stop_on_first_failure", bool, True),
                      interactor=_source_field(b, "interactor"),
                      output_limit_mb=_get(b, "output_limit_mb", int, OUTPUT_LIMIT_MB, lambda v: 1 <= v <= 1024))

    def problem_call(b):
        cases = _get(b, "cases", list, None)
        if cases is not None and not all(isinstance(c, int) and not isinstance(c, bool) for c in cases):
            raise BadRequest("field 'cases' must be a list of 1-based test numbers")
        pdir = _problem_dir(_get(b, "problem_dir", str), roots)
        if not os.path.isdir(pdir): raise BadRequest(f"problem_dir {pdir!r} is not a directory on the judge server")
        return ajudge_problem_dir(_get(b, "code", str), _get(b, "language", str), pdir,
                                  stop_on_first_failure=_get(b, "stop_on_first_failure", bool, True), cases=cases)

    async def health(request):
        return web.json_response({"ok": True, "isolation": isolation_level(), "slots": SLOTS.n, **stats})

    async def judge_h(request): return await run(judge_call, request)
    async def problem_h(request): return await run(problem_call, request)

    app = web.Application(client_max_size=MAX_BODY)
    app.add_routes([web.get("/health", health), web.post("/judge", judge_h), web.post("/judge_problem_dir", problem_h)])
    return app


def main(argv=None):
    "Command line entry point."
    ap = argparse.ArgumentParser(prog="python -m functioncall.serve", description="functioncall judge server")
    ap.add_argument("--port", type=int, default=8642)
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    ap.add_argument("--problems-root", action="append", default=[], help="serve only problem dirs under this dir")
    a = ap.parse_args(argv)
    web.run_app(make_app(a.problems_root), host=a.host, port=a.port, print=lambda *x: print(*x, flush=True))


if __name__ == "__main__":
    main()

"""Benchmark 3 of the performance issue: client overhead, with a cProfile summary of the hot path.

A FakeOpenAIServer with zero latency runs in a child process (bench/servers.py), so the CPU time of this process
(`time.process_time()`: every thread of it, the grading threads included) is the client's alone. Layers, each
measured as calls/s and CPU milliseconds per call:

- `aiohttp_bare`: a bare aiohttp session posting the same bodies (the floor for an aiohttp client);
- `chat_nocache` / `chat_cache`: `LLM.chat` without a cache / with a fresh SQLite cache;
- `pipeline`: `run_experiment` (reflect_then_aggregate, no_feedback x 2 turns, voting, n=8) writing the sample bank
  into a temporary run directory, with a fresh cache; per HTTP call, with and without the final `write_summary`.

Each layer is measured for the stock code and with the prototype fixes of bench/prototypes.py (F1-F5, then F1-F6
where F6 is the lean transport).

`--durable` measures only the response cache's write path, before and after the durable group commit: `LLM.chat`
with a fresh cache, the code of commit BEFORE_REV (a timer flushed queued writes every 0.1 s; lost if the loop ended
first) against the working tree (each `chat` awaits the commit of its rows by a writer thread; callers that arrive
together share a transaction), interleaved in one run, plus the no-cache floor. An ablation measures the pipeline with one fix at a time, alternating with the
stock code. Finally cProfile of the stock and the fixed pipeline, summarised by component.

Run: `python -m bench.bench_client [--quick]`.
"""
from __future__ import annotations
import argparse, asyncio, collections, cProfile, json, os, pstats, sys, tempfile, time
from pathlib import Path

if __package__ in (None, ""): sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.servers import ServerProcess
from bench.prototypes import FIXES, fixes
from bench.bench_orchestration import make_problems, WORKLOADS

CONCURRENCY = 64                       # the package default max_concurrency


def _msgs(i: int) -> list:
    "A solve-sized prompt (about 1.5 kB)."
    return [{"role": "system", "content": "You are an expert competition mathematician."},
            {"role": "user", "content": f"Let x = {i} + {i + 1}. Find x. " + "Show every step of the computation. " * 40}]


async def _bare(url: str, n: int):
    import aiohttp
    sem = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        async def one(i):
            async with sem:
                async with s.post(url + "/chat/completions", data=json.dumps({"model": "fake", "messages": _msgs(i), "seed": i})) as r:
                    return json.loads(await r.read())
        await asyncio.gather(*[one(i) for i in range(n)])
    return n


async def _chat(url: str, n: int, cache, module=None, info=None):
    from tts_nb.llm import LLM
    llm = (module.LLM if module else LLM)("fake", base_url=url, api_key="x", max_concurrency=CONCURRENCY, cache=cache)
    try: await asyncio.gather(*[llm.chat(_msgs(i), seed=i) for i in range(n)])
    finally: await llm.aclose()
    if info is not None and llm.cache is not None:
        info.update(rows=len(llm.cache), transactions=getattr(llm.cache, "transactions", None))
    return n


async def _pipeline(url: str, problems: list, d: Path, timing: dict):
    from tts_nb.llm import LLM
    from tts_nb.pipeline import run_experiment
    import tts_nb.pipeline as P
    llm = LLM("fake", base_url=url, api_key="x", max_concurrency=CONCURRENCY, cache=d/"cache.sqlite")
    stock = P.write_summary
    def timed_summary(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try: return stock(*a, **k)
        finally: timing.update(summary_s=time.perf_counter() - t, summary_cpu_s=time.process_time() - c)
    P.write_summary = timed_summary
    try:
        await run_experiment(problems, llm, d/"run", n=8, turns=2, reflection="no_feedback", seed=0, sampling_seed=0,
                             max_in_flight=len(problems), progress=False, **WORKLOADS["A"])
    finally:
        P.write_summary = stock
        await llm.aclose()
    return int((~llm.ledger.cached).sum())


def layer(srv, name: str, calls: int = 2000, problems: int = 128, fix=()) -> dict:
    "calls/s and CPU ms per HTTP call of one layer (with the named prototype fixes applied)."
    with tempfile.TemporaryDirectory() as d, fixes(*fix):
        d, timing = Path(d), {}
        coro = {"aiohttp_bare": lambda: _bare(srv.url, calls), "chat_nocache": lambda: _chat(srv.url, calls, False),
                "chat_cache": lambda: _chat(srv.url, calls, d/"cache.sqlite"),
                "pipeline": lambda: _pipeline(srv.url, make_problems(problems), d, timing)}[name]
        s0 = srv.cpu_s()
        t, c = time.perf_counter(), time.process_time()
        n = asyncio.run(coro())
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        out = dict(calls=n, wall_s=wall, calls_per_s=n / wall, cpu_ms_per_call=cpu / n * 1000, cpu_s_per_1000=cpu / n * 1000,
                   server_cpu_ms_per_call=(srv.cpu_s() - s0) / n * 1000)
        if timing:
            out.update(summary_s=timing["summary_s"], calls_per_s_without_summary=n / (wall - timing["summary_s"]),
                       cpu_ms_per_call_without_summary=(cpu - timing["summary_cpu_s"]) / n * 1000)
        return out


# ---- durable cache: before / after ------------------------------------------------------------------------------
BEFORE_REV = "99a2777"     # the last commit with the timer-flushed cache


def load_before(rev: str = BEFORE_REV):
    "tts_nb.llm as it was at commit `rev`, loaded as a separate module."
    import subprocess, types
    src = subprocess.check_output(["git", "show", f"{rev}:tts_nb/llm.py"], cwd=Path(__file__).resolve().parents[1], text=True)
    mod = types.ModuleType("tts_nb._llm_before"); mod.__package__ = "tts_nb"
    sys.modules[mod.__name__] = mod
    exec(compile(src, f"{rev}:tts_nb/llm.py", "exec"), mod.__dict__)
    return mod


def durable(srv, calls: int = 2000, reps: int = 3) -> dict:
    "CPU ms per call and calls/s of `chat` with a fresh cache, before and after, interleaved; best of `reps`."
    before = load_before()
    out = collections.defaultdict(list)
    for rep in range(reps):
        for label in ("nocache", "before", "after"):
            with tempfile.TemporaryDirectory() as d:
                info, cache = {}, False if label == "nocache" else Path(d)/"cache.sqlite"
                s0, t, c = srv.cpu_s(), time.perf_counter(), time.process_time()
                n = asyncio.run(_chat(srv.url, calls, cache, before if label == "before" else None, info))
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                if label == "before": before._flush_open_caches(); info["rows"] = len(before.ResponseCache(Path(d)/"cache.sqlite"))
                out[label].append(dict(calls_per_s=n / wall, cpu_ms_per_call=cpu / n * 1000, **info))
                print(f"durable rep {rep} {label:8s} " + "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                                                               for k, v in out[label][-1].items()), flush=True)
    best = {k: dict(calls_per_s=max(r["calls_per_s"] for r in v), cpu_ms_per_call=min(r["cpu_ms_per_call"] for r in v),
                    **{x: v[-1][x] for x in ("rows", "transactions") if x in v[-1]}) for k, v in out.items()}
    best["after_vs_before_cpu"] = best["after"]["cpu_ms_per_call"] / best["before"]["cpu_ms_per_call"]
    best["after_vs_before_calls_per_s"] = best["after"]["calls_per_s"] / best["before"]["calls_per_s"]
    print("durable (best of reps):", json.dumps(best, indent=1), flush=True)
    return best


# ---- profile ---------------------------------------------------------------------------------------------------
_GROUPS = [("aiohttp", ("aiohttp", "aiohappyeyeballs", "multidict", "yarl")), ("asyncio", ("asyncio", "selectors")),
           ("json", ("json",)), ("sqlite", ("sqlite3",)), ("socket", ("socket", "select", "epoll")),
           ("threads", ("threading", "concurrent", "queue.py")), ("pandas/numpy", ("pandas", "numpy", "pyarrow")),
           ("tts_nb.llm", ("tts_nb/llm",)), ("tts_nb.pipeline", ("tts_nb/pipeline",)), ("tts_nb.analysis", ("tts_nb/analysis",)),
           ("tts_nb.reflection+aggregation+prompts", ("tts_nb/reflection", "tts_nb/aggregation", "tts_nb/prompts")),
           ("tts_nb.judges + re", ("tts_nb/judges", "/re/", "re.Pattern", "_sre")), ("bench prototypes", ("bench/",))]


def _group(fn) -> str:
    f, _, name = fn
    where = name if f == "~" else f
    return next((g for g, keys in _GROUPS if any(k in where for k in keys)), "other (builtins, dataclasses, ...)")


def profile(srv, problems: int, fix=(), top: int = 12) -> dict:
    "cProfile of the pipeline layer: share of own time per component, and the top functions by own time."
    pr = cProfile.Profile()
    with tempfile.TemporaryDirectory() as d, fixes(*fix):
        pr.enable(); calls = asyncio.run(_pipeline(srv.url, make_problems(problems), Path(d), {})); pr.disable()
    st = pstats.Stats(pr).stats
    total = sum(v[2] for v in st.values())
    groups = collections.Counter()
    for fn, v in st.items(): groups[_group(fn)] += v[2]
    funcs = sorted(st.items(), key=lambda kv: -kv[1][2])[:top]
    return dict(calls=calls, profiled_s=total,
                components={g: round(t / total, 3) for g, t in groups.most_common()},
                top=[f"{round(v[2] / total * 100, 1)}%  {Path(fn[0]).name}:{fn[1]}({fn[2]})  calls={v[1]}" for fn, v in funcs])


def main(quick: bool = False) -> dict:
    "Run the client-overhead benchmark and the profiles; print and return the figures."
    calls, problems = (800, 32) if quick else (3000, 128)
    res = dict(cores=os.cpu_count(), load_avg=os.getloadavg()[0], concurrency=CONCURRENCY, pipeline_problems=problems)
    variants = [("stock", ()), ("fixed+lean", tuple(FIXES))]   # stock: the library (F1-F5 applied); +lean: F6
    with ServerProcess(0.0, supports_n=False) as srv:
        layer(srv, "chat_nocache", 200)                                          # warm up imports, sockets
        res["aiohttp_bare"] = layer(srv, "aiohttp_bare", calls)
        for name in ("chat_nocache", "chat_cache", "pipeline"):
            for label, fix in variants:
                res[f"{name}_{label}"] = m = layer(srv, name, calls, problems, fix)
                print(f"{name:13s} {label:10s} " + "  ".join(f"{k}={v:.3f}" for k, v in m.items() if k != "calls"), flush=True)
        if not quick:
            abl = collections.defaultdict(list)
            for rep in range(2):
                for f in ("stock", *FIXES):
                    abl[f].append(layer(srv, "pipeline", calls, problems, () if f == "stock" else (f,))["cpu_ms_per_call_without_summary"])
            base = min(abl["stock"])
            res["ablation_cpu_ms_per_call"] = {f: dict(cpu_ms=min(v), saving=1 - min(v) / base) for f, v in abl.items()}
            print("ablation (pipeline CPU ms per call, best of 2):", json.dumps(res["ablation_cpu_ms_per_call"]), flush=True)
        for label, fix in variants[::2]:
            res[f"profile_{label}"] = p = profile(srv, problems // 2, fix)
            print(f"profile {label}: " + json.dumps(p, indent=1), flush=True)
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="client overhead (benchmark 3) and profile")
    ap.add_argument("--quick", action="store_true", help="fewer calls, no ablation")
    ap.add_argument("--durable", action="store_true", help="only the cache write path, before/after the durable group commit")
    a = ap.parse_args()
    if a.durable:
        with ServerProcess(0.0, supports_n=False) as srv:
            layer(srv, "chat_nocache", 200)
            durable(srv, 800 if a.quick else 2000, 2 if a.quick else 5)
    else: main(a.quick)

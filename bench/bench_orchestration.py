"""Benchmarks 1, 2 and 4 of the performance issue: orchestration against the ideal, against the usual research
script, and cache replay.

A FakeOpenAIServer with a fixed latency (200 ms) and unlimited parallelism runs in a child process (bench/servers.py).
Workload: 64 synthetic math problems (`Let x = a + b. Find x.`, integer answers) x n=8 x 2 `no_feedback` reflection
turns, as `reflect_then_aggregate` + voting (A) and `aggregate_each_turn` + pairwise (B), through `run_experiment`
with a fresh response cache and run directory per measurement. `sampling_seed=0` makes the sample index the
endpoint seed, so the deterministic fake server answers each chain differently (it hashes prompt and seed).

Problems in flight: `max_in_flight=len(problems)` (the whole width of the workload), plus one stock run with
run_experiment's default of 16, which `experiment()` and the run_* notebooks use.

1. ideal / actual. Ideal = max(sequential LLM steps per problem, ceil(requests / max_concurrency)) x latency: the
   critical path, or the work bound when `max_concurrency` is what limits (B at 512: 3 pairwise leagues of 56 calls
   per problem). It is a lower bound, so the ratio is at most 1.
2. The same A workload as the usual research script: synchronous `openai.OpenAI`, one request at a time per problem,
   a ThreadPoolExecutor across problems, voting over extracted answers graded with `judges.math_equiv`.
4. The A and B runs again on their warm cache (new client, new run dir): wall time and HTTP requests (must be 0).

With `--fixes` (the default in `python -m bench`) every measurement of 1 and 4 is repeated in the same process with
the prototype fixes of bench/prototypes.py applied, for before/after ratios.

Run: `python -m bench.bench_orchestration [--quick] [--no-fixes]`.
"""
from __future__ import annotations
import argparse, asyncio, json, math, os, sys, tempfile, time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""): sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.servers import ServerProcess
from bench.prototypes import FIXES, fixes

LATENCY = 0.2
WORKLOADS = {"A": dict(pattern="reflect_then_aggregate", aggregation="voting"),
             "B": dict(pattern="aggregate_each_turn", aggregation="pairwise")}


def make_problems(k: int = 64) -> list:
    "k synthetic math Problems with known integer answers."
    from tts_nb.benchmarks import Problem
    return [Problem(f"syn-{i:03d}", "math", f"Let x = {100 + 37 * i} + {7 * i + 3}. Find x.", str(103 + 44 * i),
                    meta={"category": ("Algebra", "Number theory")[i % 2]}) for i in range(k)]


def _agg_width(aggregation: str, n: int) -> int:
    "Requests one aggregation of n candidates makes, all at once."
    return {"voting": 0, "none": 0, "gt_scoring": 0, "pairwise": n * (n - 1), "llm_scoring": n}.get(aggregation, 1)


def step_widths(pattern: str, aggregation: str, n: int, turns: int, supports_n: bool = False) -> list[int]:
    "Requests per problem in each sequential LLM step of one problem's run."
    gen, agg = (1 if supports_n else n), _agg_width(aggregation, n)
    if pattern == "reflect_then_aggregate": steps = [gen] + [n] * turns + [agg]
    else: steps = [gen] + [agg, n] * turns + [agg]
    return [w for w in steps if w]


def ideal_seconds(widths: list, problems: int, max_concurrency: int, latency: float = LATENCY) -> float:
    "Lower bound on the wall time: the critical path, or the total work spread over max_concurrency slots."
    return max(len(widths), math.ceil(sum(widths) * problems / max_concurrency)) * latency


async def run_ours(url: str, problems: list, workload: str, max_concurrency: int, cache, run_dir, n=8, turns=2,
                   max_in_flight: int | None = None) -> dict:
    "One run_experiment of a workload: wall time, its summary-writing part, client CPU and the summary."
    from tts_nb.llm import LLM
    from tts_nb.pipeline import run_experiment, write_summary
    llm = LLM("fake", base_url=url, api_key="x", max_concurrency=max_concurrency, cache=cache)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        s = await run_experiment(problems, llm, run_dir, n=n, turns=turns, reflection="no_feedback", seed=0,
                                 sampling_seed=0, max_in_flight=max_in_flight or len(problems), progress=False, **WORKLOADS[workload])
    finally: await llm.aclose()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter(); write_summary(run_dir, len(problems)); summary_s = time.perf_counter() - t1
    led = llm.ledger
    return dict(wall_s=wall, summary_s=summary_s, cpu_s=cpu, calls=len(led), cached=int(led.cached.sum()),
                final_accuracy=s["final_accuracy"], n_failed=s["n_failed"])


def measure(srv: ServerProcess, problems: list, workload: str, max_concurrency: int, n=8, turns=2, replay=True,
            max_in_flight: int | None = None) -> dict:
    "Benchmark 1 (fresh cache) and, with `replay`, benchmark 4 (the same again from the warm cache)."
    with tempfile.TemporaryDirectory() as d:
        r0, s0 = srv.stats()["requests"], srv.cpu_s()
        out = asyncio.run(run_ours(srv.url, problems, workload, max_concurrency, Path(d)/"cache.sqlite", Path(d)/"run", n, turns,
                                   max_in_flight))
        out.update(requests=srv.stats()["requests"] - r0, server_cpu_s=srv.cpu_s() - s0)
        out["ideal_s"] = ideal_seconds(step_widths(n=n, turns=turns, supports_n=srv.supports_n, **WORKLOADS[workload]),
                                       len(problems), max_concurrency)
        out["ratio"] = out["ideal_s"] / out["wall_s"]
        out["ratio_without_summary"] = out["ideal_s"] / (out["wall_s"] - out["summary_s"])
        if replay:
            r0 = srv.stats()["requests"]
            rep = asyncio.run(run_ours(srv.url, problems, workload, max_concurrency, Path(d)/"cache.sqlite", Path(d)/"replay", n, turns))
            out["replay"] = dict(wall_s=rep["wall_s"], summary_s=rep["summary_s"], requests=srv.stats()["requests"] - r0,
                                 cached=rep["cached"], calls=rep["calls"], same_result=rep["final_accuracy"] == out["final_accuracy"])
    return out


# ---- the ceiling: the same request graph with nothing but a transport ------------------------------------------
async def _bare_dag(url: str, problems: list, transport, max_concurrency: int, n: int, turns: int):
    from tts_nb.prompts import get_template, format_problem
    solve_t, reflect_t, sem = get_template("math/solve"), get_template("math/no_feedback"), asyncio.Semaphore(max_concurrency)
    async def post(messages, temperature, seed):
        async with sem: data = await transport.post(url, {"model": "fake", "messages": messages, "temperature": temperature, "seed": seed})
        return data["choices"][0]["message"]["content"]
    async def chain(p, c):
        text = await post(solve_t.messages(problem=format_problem(p)), 0.8, c)
        for _ in range(turns): text = await post(reflect_t.messages(problem=format_problem(p), solution=text), 1.0, c)
    try: await asyncio.gather(*[chain(p, c) for p in problems for c in range(n)])
    finally: await transport.aclose()


def bare_dag(srv: ServerProcess, problems: list, lean: bool = False, max_concurrency: int = 512, n: int = 8, turns: int = 2) -> dict:
    """Workload A's requests (n chains of 1 + turns sequential calls per problem) sent by a bare transport: no cache,
    operators, grading or sample bank. Its ideal/actual is the ceiling for a client on this machine and server."""
    from tts_nb.llm import HTTPTransport
    from bench.lean_transport import LeanTransport
    transport = (LeanTransport if lean else HTTPTransport)("x", 600)
    t0, c0 = time.perf_counter(), time.process_time()
    asyncio.run(_bare_dag(srv.url, problems, transport, max_concurrency, n, turns))
    wall = time.perf_counter() - t0
    ideal = ideal_seconds([n] * (1 + turns), len(problems), max_concurrency)
    return dict(wall_s=wall, cpu_s=time.process_time() - c0, ideal_s=ideal, ratio=ideal / wall)


# ---- benchmark 2: the usual research script -------------------------------------------------------------------
def usual_script(url: str, problems: list, n: int = 8, turns: int = 2, threads: int = 32) -> dict:
    "Synchronous openai client, one request at a time per problem, threads across problems; majority vote, math_equiv."
    import openai
    from tts_nb.prompts import get_template, format_problem
    from tts_nb.judges import extract_answer, math_equiv
    client = openai.OpenAI(base_url=url, api_key="x", max_retries=2)
    solve_t, reflect_t = get_template("math/solve"), get_template("math/no_feedback")

    def ask(messages, temperature, seed):
        r = client.chat.completions.create(model="fake", messages=messages, temperature=temperature, seed=seed)
        return r.choices[0].message.content

    def one(p):
        finals = []
        for c in range(n):
            text = ask(solve_t.messages(problem=format_problem(p)), 0.8, c)
            for _ in range(turns): text = ask(reflect_t.messages(problem=format_problem(p), solution=text), 1.0, c)
            finals.append(text)
        votes = Counter(a for a in map(extract_answer, finals) if a)
        return bool(votes) and math_equiv(p.answer, votes.most_common(1)[0][0]) is True

    t0, c0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as ex: right = list(ex.map(one, problems))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    client.close()
    return dict(wall_s=wall, cpu_s=cpu, threads=threads, final_accuracy=sum(right) / len(right))


# ---- report ---------------------------------------------------------------------------------------------------
def _fmt(x) -> str: return f"{x:.3f}" if isinstance(x, float) else str(x)


VARIANTS = {"stock": (), "fixed+lean": tuple(FIXES)}   # stock: the library (F1-F5, F7 applied); +lean: F6


def main(quick: bool = False, with_fixes: bool = True) -> dict:
    "Run benchmarks 1, 2 and 4; print one line per measurement and return the figures."
    problems = make_problems(16 if quick else 64)
    res = dict(problems=len(problems), n=8, turns=2, latency_s=LATENCY, cores=os.cpu_count(), load_avg=os.getloadavg()[0])
    variants = VARIANTS if with_fixes else {"stock": ()}
    plans = {False: [("A", 512), ("B", 512)] + ([] if quick else [("A", 64)]), True: [] if quick else [("A", 512)]}
    for supports_n, plan in plans.items():
        if not plan: continue
        with ServerProcess(LATENCY, supports_n=supports_n) as srv:
            for rep in range(1 if quick else 2):        # A at 512 (a second or so) twice, interleaved: the best run counts
                for label, names in variants.items():
                    for wl, conc in plan:
                        if rep and (wl, conc) != ("A", 512): continue
                        key = f"{wl}_c{conc}{'_n' if supports_n else ''}_{label}"
                        with fixes(*names): m = measure(srv, problems, wl, conc, replay=conc == 512 and not supports_n)
                        print(f"[1/4] {key} (run {rep + 1}): " + ", ".join(f"{k}={_fmt(v)}" for k, v in m.items()), flush=True)
                        if key not in res or m["wall_s"] < res[key]["wall_s"]: res[key] = dict(m, runs=rep + 1)
                        else: res[key]["runs"] = rep + 1
            if supports_n: continue
            # run_experiment's default max_in_flight=16 (also what `experiment()` and the run_* notebooks use)
            res["A_c512_inflight16_stock"] = m = measure(srv, problems, "A", 512, replay=False, max_in_flight=16)
            print("[1] A_c512_inflight16_stock: " + ", ".join(f"{k}={_fmt(v)}" for k, v in m.items()), flush=True)
            for lean in (False, True):
                res[key := f"ceiling_A_c512_{'lean' if lean else 'aiohttp'}"] = m = bare_dag(srv, problems, lean)
                print(f"[1] {key}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in m.items()), flush=True)
            for threads in ((32,) if quick else (32, 16)):
                res[f"usual_t{threads}"] = u = usual_script(srv.url, problems, threads=threads)
                for label in variants: u[f"speedup_vs_{label}"] = u["wall_s"] / res[f"A_c512_{label}"]["wall_s"]
                print(f"[2] usual_t{threads}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in u.items()), flush=True)
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="orchestration vs ideal, vs the usual script, cache replay")
    ap.add_argument("--quick", action="store_true", help="16 problems, fewer configurations")
    ap.add_argument("--no-fixes", action="store_true", help="measure the stock code only")
    a = ap.parse_args()
    main(a.quick, not a.no_fixes)

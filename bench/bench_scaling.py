"""Issue 13, matched compute: recursive self-aggregation, confidence voting (DeepConf), adaptive stopping and the
study's methods on one grid, as one accuracy-vs-tokens table with the cost of each.

Model: the embedded one (`model="local"`, SmolLM2-135M-Instruct via llama.cpp, which serves logprobs), on the first
`--problems` problems of the shipped easy math set (data/samples/imobench/easy, where the model has some signal),
`max_tokens=48`, temperature 0.7.
Every run asks for `logprobs=True, top_logprobs=20`, so all of them share the same first samples through one fresh
response cache: a sample drawn by one method is replayed for the next, and the ledger still charges each run for it
(a cache hit records its tokens), so costs are what each method would spend alone, while the model computes each
distinct call once. Costs are the ledger's tokens (prompt + completion) and calls per problem, from `compute_table`.

Confidence voting runs as `adaptive_consistency` with `batch = n`: one batch of n samples, then the aggregation —
plain sampling — because only this pattern family records confidence summaries until `operators.generate` does
(then `reflect_then_aggregate` with `turns=0` is the same run).

Run: `python -m bench.bench_scaling [--problems 3] [--max-tokens 48] [--out bench/out/scaling] [--table]`. About 10 minutes on
the shared embedded model (about 60 distinct calls); a second run on the same --out replays from its cache.
"""
from __future__ import annotations
import argparse, asyncio, json, sys, time
from pathlib import Path

if __package__ in (None, ""): sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHARED = dict(logprobs=True, top_logprobs=20)
GRID = {  # label -> experiment() parameters
    "voting n=4": dict(n=4, turns=0, reflection="none"),
    "voting n=8": dict(n=8, turns=0, reflection="none"),
    "confidence_voting n=4 (eta=0.5)": dict(n=4, turns=0, reflection="none", pattern="adaptive_consistency", batch=4,
                                            aggregation="confidence_voting", keep_top=0.5, confidence_window=16),
    "adaptive_consistency n<=8 (batch 2)": dict(n=8, turns=0, reflection="none", pattern="adaptive_consistency", batch=2),
    "rsa N=4 K=2 T=1": dict(n=4, turns=1, reflection="none", pattern="rsa", subset_size=2),
    "reflect_then_aggregate n=4 T=1 + voting": dict(n=4, turns=1, reflection="no_feedback"),
    "reflect_then_aggregate n=4 T=1 + select_one": dict(n=4, turns=1, reflection="no_feedback", aggregation="select_one"),
    "aggregate_each_turn n=4 T=1 + voting": dict(n=4, turns=1, reflection="no_feedback", pattern="aggregate_each_turn"),
}


def run_grid(out: Path, problems: int, max_tokens: int) -> dict:
    "Run every configuration of GRID into out/<i>; {label: (run dir, wall seconds)}."
    from tts_nb.pipeline import experiment
    from tts_nb.benchmarks import samples_dir
    EASY = samples_dir() / "imobench" / "easy" / "answerbench_easy.csv"
    from tts_nb import scaling  # noqa: F401  registers the methods (until the runner imports it)
    cache, done = out / "cache.sqlite", {}
    for i, (label, kw) in enumerate(GRID.items()):
        t0 = time.perf_counter()
        rd = asyncio.run(experiment("imobench", model="local", data_path=str(EASY), limit=problems, max_tokens=max_tokens,
                                    temperature=0.7, seed=0, run_dir=out / f"{i:02d}", cache=str(cache), progress=False,
                                    **SHARED, **kw))
        done[label] = (rd, time.perf_counter() - t0)
        print(f"  {label}: {done[label][1]:.0f} s", file=sys.stderr, flush=True)
        (out / "walls.json").write_text(json.dumps({k: w for k, (_, w) in done.items()}))
    return done


def finished_grid(out: Path) -> dict:
    "The runs of an earlier invocation on `out`, with their wall times, without calling the model."
    walls = json.loads((out / "walls.json").read_text())
    return {label: (out / f"{i:02d}", walls[label]) for i, label in enumerate(GRID) if label in walls}


def table(done: dict):
    "One row per configuration: accuracy, tokens and calls per problem, samples spent (adaptive), wall time."
    from tts_nb import analysis, scaling
    from tts_nb.bank import load_run
    import pandas as pd
    rows = []
    for label, (rd, wall) in done.items():
        run = load_run(rd)
        c = analysis.compute_table(run).iloc[0]
        f = analysis.final_rows(run)
        used = [m.get("adaptive", {}).get("samples") for m in f.meta]
        fresh = run.calls[~run.calls.cached.astype(bool)] if len(run.calls) else run.calls
        rows.append(dict(method=label, accuracy=c.accuracy, tokens=c.tokens, calls=c.calls,
                         samples=sum(used) / len(used) if all(u is not None for u in used) else None,
                         fresh_calls=len(fresh), wall_s=round(wall, 1), problems=int(c.n_problems)))
    t = pd.DataFrame(rows)
    front = analysis.pareto_frontier(t, x="tokens", y="accuracy")
    return t.assign(pareto=t.method.isin(front.method))


def main(problems: int = 3, max_tokens: int = 48, out: str = "bench/out/scaling", table_only: bool = False) -> dict:
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    done = finished_grid(out) if table_only else run_grid(out, problems, max_tokens)
    t = table(done)
    from tts_nb import scaling
    sva = scaling.samples_vs_accuracy([rd for label, (rd, _) in done.items() if label in ("voting n=8", "adaptive_consistency n<=8 (batch 2)")],
                                      batch=2, thresholds=(0.9, 0.95))
    res = dict(problems=problems, max_tokens=max_tokens, total_s=round(time.perf_counter() - t0, 1),
               table=t.to_dict("records"), samples_vs_accuracy=sva.to_dict("records"))
    (out / "results.json").write_text(json.dumps(res, indent=2, default=str))
    print(t.to_markdown(index=False, floatfmt=".3g"))
    print()
    print(sva.to_markdown(index=False, floatfmt=".3g"))
    print(f"\ntotal {res['total_s']} s", file=sys.stderr)
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--out", default="bench/out/scaling")
    ap.add_argument("--table", action="store_true", help="reprint the table of an earlier run on --out (no model calls)")
    a = ap.parse_args()
    main(a.problems, a.max_tokens, a.out, a.table)

"""Run every benchmark of the performance issue in one go and print the headline table.

    python -m bench [--quick] [--only orchestration,client,judge,grading,analysis] [--out bench/out/results.json]

1, 2, 4 orchestration (bench_orchestration)   3 client overhead + profile (bench_client)
5 judging (bench_judge)   6 math grading (bench_grading)   7 analysis scale (bench_analysis)
Every benchmark runs in this process, one after the other; one that fails is reported and the others still run.
Figures are ratios measured within one run: this machine is shared and noisy. See bench/RESULTS.md.
"""
from __future__ import annotations
import argparse, json, os, sys, time, traceback
from pathlib import Path

if __package__ in (None, ""): sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _benches(quick: bool) -> dict:
    "name -> zero-argument callable returning the benchmark's dict."
    from bench import bench_orchestration, bench_client, bench_judge, bench_grading, bench_analysis
    return {"orchestration": lambda: bench_orchestration.main(quick),
            "client": lambda: bench_client.main(quick),
            "judge": bench_judge.main,
            "grading": bench_grading.main,
            "analysis": (lambda: bench_analysis.main(100)) if quick else bench_analysis.main}


def _get(d: dict, path: str):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d: return None
        d = d[k]
    return d


HEADLINES = [  # (benchmark, what, key path, format, target)
    ("orchestration", "1. A (reflect_then_aggregate+voting) @512: ideal/actual, stock", "A_c512_stock.ratio", "{:.2f}", ">= 0.85"),
    ("orchestration", "1. A @512: ideal/actual, library + lean transport (F6)", "A_c512_fixed+lean.ratio", "{:.2f}", ">= 0.85"),
    ("orchestration", "1. A @512: ceiling of a bare aiohttp client", "ceiling_A_c512_aiohttp.ratio", "{:.2f}", ""),
    ("orchestration", "1. A @512: ceiling of a bare lean-transport client", "ceiling_A_c512_lean.ratio", "{:.2f}", ""),
    ("orchestration", "1. B (aggregate_each_turn+pairwise) @512: ideal/actual, stock", "B_c512_stock.ratio", "{:.2f}", ">= 0.85"),
    ("orchestration", "1. B @512: ideal/actual, library + lean transport (F6)", "B_c512_fixed+lean.ratio", "{:.2f}", ">= 0.85"),
    ("orchestration", "1. A @512 with max_in_flight=16 (the old default): ideal/actual, stock", "A_c512_inflight16_stock.ratio", "{:.2f}", ">= 0.85"),
    ("orchestration", "1. A @64: ideal/actual, stock", "A_c64_stock.ratio", "{:.2f}", ">= 0.85"),
    ("orchestration", "2. speed-up vs usual script (32 threads), stock", "usual_t32.speedup_vs_stock", "{:.1f}x", "> 1"),
    ("orchestration", "2. speed-up vs usual script (32 threads), F1-F6", "usual_t32.speedup_vs_fixed+lean", "{:.1f}x", "> 1"),
    ("orchestration", "4. cache replay of A: HTTP requests", "A_c512_stock.replay.requests", "{}", "0"),
    ("orchestration", "4. cache replay of A: wall s", "A_c512_stock.replay.wall_s", "{:.2f}", ""),
    ("orchestration", "4. cache replay of B: HTTP requests", "B_c512_stock.replay.requests", "{}", "0"),
    ("client", "3. pipeline CPU s / 1000 calls, stock", "pipeline_stock.cpu_s_per_1000", "{:.2f}", "near aiohttp_bare"),
    ("client", "3. pipeline CPU s / 1000 calls, F1-F6", "pipeline_fixed+lean.cpu_s_per_1000", "{:.2f}", "near aiohttp_bare"),
    ("client", "3. bare aiohttp CPU s / 1000 calls", "aiohttp_bare.cpu_s_per_1000", "{:.2f}", ""),
    ("client", "3. pipeline calls/s, stock", "pipeline_stock.calls_per_s", "{:.0f}", ""),
    ("judge", "5. C++ tests/s (200 tests)", "cpp_tests_per_s", "{:.0f}", ""),
    ("judge", "5. overhead ms/test vs bare subprocess", "overhead_ms_per_test", "{:.2f}", ""),
    ("judge", "5. batch 64 x 20 C++ tests/s", "batch_64x20_cpp_tests_per_s", "{:.0f}", ""),
    ("grading", "6. math_equiv calls/s cold (incl. worker start)", "calls_per_s_cold", "{:.0f}", ""),
    ("grading", "6. math_equiv calls/s warm (cached)", "calls_per_s_warm", "{:.0f}", ""),
    ("grading", "6. event-loop worst lag during grading, ms", "loop_lag_grading_ms.worst", "{}", "small"),
    ("analysis", "7. load the synthetic bank, s", "load_s", "{:.2f}", ""),
    ("analysis", "7. maj@k for all k, s", "maj_at_k_s", "{:.2f}", ""),
    ("analysis", "7. compute-matched plot, s", "compute_plot_s", "{:.2f}", ""),
]


def main(quick: bool = False, only: list | None = None, out: str | None = None) -> dict:
    "Run the benchmarks, print the headline table, write all figures as JSON."
    res, benches = {}, _benches(quick)
    for name, fn in benches.items():
        if only and name not in only: continue
        print(f"\n=== {name} ===", flush=True)
        t = time.perf_counter()
        try: res[name] = fn() or {}
        except Exception as e: res[name] = {"error": f"{type(e).__name__}: {e}"}; traceback.print_exc()
        res[name]["_seconds"] = round(time.perf_counter() - t, 1)
    print("\n=== headline figures ===")
    for bench, what, path, fmt, target in HEADLINES:
        v = _get(res.get(bench, {}), path)
        if v is not None: print(f"{what:<66} {fmt.format(v):>10}   target {target or '-'}")
    for name, r in res.items(): print(f"{name}: {r.get('_seconds')} s" + (f"  ERROR {r['error']}" if "error" in r else ""))
    path = Path(out or Path(__file__).parent/"out"/"results.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(res, quick=quick, cores=os.cpu_count(), when=time.strftime("%Y-%m-%d %H:%M:%S")), indent=1, default=str))
    print(f"all figures: {path}")
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="run all benchmarks")
    ap.add_argument("--quick", action="store_true", help="smaller workloads (about 3 minutes)")
    ap.add_argument("--only", default="", help="comma-separated subset: orchestration,client,judge,grading,analysis")
    ap.add_argument("--out", default=None, help="JSON file for all figures (default bench/out/results.json)")
    a = ap.parse_args()
    main(a.quick, [x for x in a.only.split(",") if x] or None, a.out)

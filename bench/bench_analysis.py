"""Benchmark of `tts_nb.analysis` and `tts_nb.plots` on a big synthetic sample bank.

A bank of 500 problems x 64 samples x 4 populations (turn 0 and 3 reflection turns: 128,000 solution rows plus
aggregates and calls) is written to a temporary directory; then we time, and measure the peak Python heap
(tracemalloc) of: loading it, pass@k and maj@k for every k <= 64 over the turn-0 population, and the
compute-matched plot. Each step is timed in a plain run first, then run again under tracemalloc for its peak
(tracemalloc slows Python-level allocation, so its run is not timed). The bank is written by a child process, so
`ru_maxrss_*` (the process's peak resident memory so far) measures the analysis alone.

Run: `python bench/bench_analysis.py` (about a minute on 2 cores, mostly writing the bank).
"""
import json, resource, sys, tempfile, time, tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tts_nb.analysis import load_run, maj_at_k, pass_at_k
from tts_nb.testing import synthetic_bank
from tts_nb.plots import plot_accuracy_vs_tokens


def _measure(fn, res, name):
    "Run `fn` timed (recording seconds and peak RSS so far in `res`), then again under tracemalloc for its heap peak."
    t0 = time.perf_counter(); out = fn()
    res[f"{name}_s"], res[f"{name}_maxrss_mib"] = round(time.perf_counter() - t0, 3), _maxrss_mib()
    tracemalloc.start(); fn(); res[f"{name}_traced_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    tracemalloc.stop()
    return out


def _maxrss_mib() -> float:
    "Peak resident set size of this process so far, in MiB (Linux reports KiB)."
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(n_problems:int=500, n:int=64, turns:int=3, text_chars:int=300) -> dict:
    "Write the synthetic bank, measure loading, pass@k/maj@k and the compute-matched plot; print and return a dict."
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        with ProcessPoolExecutor(1) as pool:
            bank = pool.submit(synthetic_bank, Path(d)/"bench", n_problems=n_problems, n=n, turns=turns, seed=0,
                               offline_ns=(4, 8, 16, 32, 64), repeats=4, text_chars=text_chars).result()
        res = dict(bank=dict(problems=n_problems, samples=n, populations=turns + 1, write_s=round(time.perf_counter() - t0, 2),
                             solutions_mib=round((bank/"solutions.jsonl").stat().st_size / 2**20, 1)))
        res["start_maxrss_mib"] = _maxrss_mib()
        run = _measure(lambda: load_run(bank), res, "load")
        res["bank"].update(solution_rows=len(run.solutions), call_rows=len(run.calls), offline_rows=len(run.offline))
        p = _measure(lambda: pass_at_k(run), res, "pass_at_k")
        m = _measure(lambda: maj_at_k(run), res, "maj_at_k")
        _measure(lambda: plot_accuracy_vs_tokens(run), res, "compute_plot")
        res["ks"], res["pass_at_64"], res["maj_at_64"] = int(p.k.max()), round(float(p.pass_at_k.iloc[-1]), 4), round(float(m.maj_at_k.iloc[-1]), 4)
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))

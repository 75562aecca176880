"""Benchmark of the math grader over the 400 IMO-AnswerBench v2 gold answers.

Measures how many golds the rule tiers can decide, `math_equiv` calls per second (cold: fresh worker pool and empty
cache; warm: cached; warm pool but uncached), that deliberately wrong predictions are never accepted, and that grading
does not stall the event loop (worst lag of a ticker task while 400 `amath_equiv` calls run).
Then whole responses through `judges.grade` (extraction + comparison, rules only), in answers/s, cold (fresh worker
pool, every cache empty) and warm (the same responses again); the recall on the true-equal pairs of
tests/test_judges_recall.py; and the verdicts on issue 11's false accepts.

Run: `python bench/bench_grading.py` (reads `$TTS_DATA_DIR/imobench/answerbench_v2.csv`).
To measure another version of the package (e.g. before a change), put its root first on PYTHONPATH: the script only
uses names that both versions have.
"""
from __future__ import annotations
import asyncio, os, re, statistics, sys, time, warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_file() -> Path:
    "Where AnswerBench v2 lives: TTS_DATA_DIR (a local copy of the benchmarks)."
    root = Path(os.environ.get("TTS_DATA_DIR") or REPO.parent / "shared" / "data")
    return root / "imobench" / "answerbench_v2.csv"


def plus_zero(gold: str, clean) -> str | None:
    "An equivalent rewrite that the exact tiers cannot see (forces math-verify): append `+0` to a single expression."
    g = clean(gold)
    if re.search(r"[<>,]|\\[lg]eq?|\\cup|\\in\b", g) or g.count("=") > 1: return None
    return f"{g}+0"


def plus_one(gold: str, clean) -> str | None:
    "A wrong answer: the last integer in the answer plus one."
    g = clean(gold)
    ms = list(re.finditer(r"\d+", g))
    if not ms: return None
    m = ms[-1]
    return g[:m.start()] + str(int(m.group()) + 1) + g[m.end():]


def drop_element(gold: str, clean, shape, split_top) -> str | None:
    "A wrong answer: a list, set or tuple with its last element dropped."
    g = clean(gold)
    kind, n = shape(g)
    if n < 2: return None
    if kind == "list": return ", ".join(split_top(g)[:-1])
    inner = split_top(g[2:-2] if kind == "set" else g[1:-1])
    return (r"\{" + ", ".join(inner[:-1]) + r"\}") if kind == "set" else g[0] + ", ".join(inner[:-1]) + g[-1]


def swap_bracket(gold: str, clean) -> str | None:
    "A wrong answer: an interval with its last endpoint's bracket swapped (open <-> closed)."
    g = clean(gold)
    if not (re.search(r"[\[\]]", g) or r"\infty" in g): return None
    if not g or g[-1] not in ")]": return None
    return g[:-1] + {")": "]", "]": ")"}[g[-1]]


ISSUE_FALSE_ACCEPTS = [("23", "2 3"), ("1234", "12 34"), ("11/2", "1 1/2"), ("32349", "32, 349"),
                       ("\\sin 30", "\\sin 30^\\circ"), ("12", "12 apples and 13 pears")]


def clear_caches(J):
    "Empty every lru_cache of the judges module (a cold start without restarting Python)."
    for v in vars(J).values():
        if hasattr(v, "cache_clear"): v.cache_clear()


def responses(golds, clean) -> list[tuple[str, str]]:
    "(gold, response) in the formats models write: a box, Minerva's sentence, 'the answer is', right and wrong answers."
    out = []
    for g in golds:
        c = clean(g)
        out.append((g, f"We compute carefully.\n\nTherefore the answer is $\\boxed{{{c}}}$."))
        if (w := plus_one(g, clean)): out.append((g, f"Some reasoning.\nFinal Answer: The final answer is ${w}$. I hope it is correct."))
        if (z := plus_zero(g, clean)): out.append((g, f"So the answer is ${z}$."))
    return out


def grading_speed(J, golds) -> dict:
    "Answers per second through `grade` (rules only): cold (fresh pool, empty caches) and warm (again)."
    from types import SimpleNamespace as NS
    texts = responses(golds, J.clean_answer)
    probs = [NS(id=str(i), domain="math", statement="", answer=g, choices=None, meta={}) for i, (g, _) in enumerate(texts)]
    async def run():
        t = time.perf_counter()
        out = await asyncio.gather(*(J.grade(q, t) for q, (_, t) in zip(probs, texts)))
        return out, time.perf_counter() - t
    J._POOL.close(); clear_caches(J)
    cold_out, cold_s = asyncio.run(run())
    _, warm_s = asyncio.run(run())
    return dict(n=len(texts), answers_per_s_cold=round(len(texts) / cold_s, 1), answers_per_s_warm=round(len(texts) / warm_s),
                verdicts=dict(Counter(str(g.correct) for g in cold_out)))


def recall(J) -> dict:
    "Accept rate on the true-equal (gold, response) pairs of tests/test_judges_recall.py."
    import importlib.util
    from types import SimpleNamespace as NS
    spec = importlib.util.spec_from_file_location("recall_pairs", REPO / "tests" / "test_judges_recall.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    async def run():
        return [await J.grade(NS(id=str(i), domain="math", statement="", answer=g, choices=None, meta={}), t)
                for i, (g, t) in enumerate(mod.RECALL_PAIRS)]
    out = asyncio.run(run())
    n = len(out)
    return dict(n=n, accepted=sum(g.correct is True for g in out), rejected=sum(g.correct is False for g in out),
                undecided=sum(g.correct is None for g in out), accept_rate=round(sum(g.correct is True for g in out) / n, 3))


def timed(fn, pairs) -> tuple[list, float]:
    "Results of fn over pairs and calls per second."
    t = time.perf_counter()
    out = [fn(g, p) for g, p in pairs]
    return out, len(pairs) / (time.perf_counter() - t)


async def loop_lag(coro_factory, tick: float = 0.002) -> tuple[object, float, float]:
    "Run the coroutine while a ticker measures event-loop lag: (result, worst lag s, p99 lag s)."
    lags, done = [], asyncio.Event()

    async def ticker():
        while not done.is_set():
            t = time.perf_counter(); await asyncio.sleep(tick); lags.append(time.perf_counter() - t - tick)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try: res = await coro_factory()
    finally: done.set(); await task
    lags.sort()
    return res, lags[-1] if lags else 0.0, lags[int(0.99 * (len(lags) - 1))] if lags else 0.0


def main() -> dict:
    "Run the benchmark, print a summary and return the figures."
    f = data_file()
    if not f.exists():
        print(f"AnswerBench v2 not found at {f}; set TTS_DATA_DIR to a directory holding imobench/answerbench_v2.csv")
        return {}
    from tts_nb.benchmarks import load_imobench
    from tts_nb import judges as J
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        golds = [q.answer for q in load_imobench(f)]

    # which golds can the rules decide at all
    self_tiers = Counter(J.rule_tiers(g, g).tier for g in golds)
    undecided = [g for g in golds if J.is_text_answer(g)]
    pattern = [g for g in golds if not J.is_text_answer(g) and J._PATTERN.search(g)]

    # prediction sets: (kind, gold, pred, expected)
    cases = [("same", g, g, True) for g in golds]
    cases += [("plus_zero", g, p, True) for g in golds if not J.is_text_answer(g) and (p := plus_zero(g, J.clean_answer))]
    cases += [("plus_one", g, p, False) for g in golds if (p := plus_one(g, J.clean_answer))]
    cases += [("drop_element", g, p, False) for g in golds if (p := drop_element(g, J.clean_answer, J.shape, J.split_top))]
    cases += [("swap_bracket", g, p, False) for g in golds if (p := swap_bracket(g, J.clean_answer))]
    pairs = [(g, p) for _, g, p, _ in cases]

    # speed: cold (fresh pool, empty cache), warm (cached), warm pool but uncached
    J._POOL.close(); J._compare.cache_clear()
    t0 = time.perf_counter(); J._POOL.start(); startup = time.perf_counter() - t0
    J._POOL.close()
    res_cold, cold = timed(J.compare_answers, pairs)  # includes starting the workers
    _, warm = timed(J.math_equiv, pairs)
    J._compare.cache_clear()
    _, warm_pool = timed(J.math_equiv, pairs)
    mv_pairs = [(g, p) for (g, p), r in zip(pairs, res_cold) if r.tier == "math_verify"]
    J._compare.cache_clear()
    _, mv_rate = timed(J.math_equiv, mv_pairs)
    rules_only = [(g, p) for (g, p), r in zip(pairs, res_cold) if r.tier != "math_verify"]
    _, rules_rate = timed(J.rule_tiers, rules_only)

    # correctness of verdicts on the perturbed predictions
    table = {}
    for (kind, g, p, want), r in zip(cases, res_cold):
        row = table.setdefault(kind, Counter())
        row[{True: "true", False: "false", None: "none"}[r.equal]] += 1
    false_accepts = [(kind, g, p) for (kind, g, p, want), r in zip(cases, res_cold) if want is False and r.equal is True]
    false_rejects = [(kind, g, p, r.tier) for (kind, g, p, want), r in zip(cases, res_cold) if want is True and r.equal is False]
    tiers = Counter(r.tier for r in res_cold)

    # event loop: lag of a ticker alone, then while 400 uncached amath_equiv calls run concurrently
    async def idle(): await asyncio.sleep(1.0)
    batch = [(g, p) for kind, g, p, _ in cases if kind in ("plus_one", "plus_zero")][:400]
    async def grade_batch():
        J._compare.cache_clear()
        t = time.perf_counter()
        out = await asyncio.gather(*(J.amath_equiv(g, p) for g, p in batch))
        return out, time.perf_counter() - t
    _, base_worst, base_p99 = asyncio.run(loop_lag(idle))
    (verdicts, batch_s), worst, p99 = asyncio.run(loop_lag(grade_batch))

    speed = grading_speed(J, golds)
    rec = recall(J)
    issue = {f"{g} | {p}": J.math_equiv(g, p) for g, p in ISSUE_FALSE_ACCEPTS}

    out = dict(
        grade_speed=speed, recall=rec, issue_false_accepts=issue,
        n_golds=len(golds),
        golds_decided_by_rules=len(golds) - len(undecided),
        golds_none=len(undecided),
        golds_pattern_exact_only=len(pattern),
        self_tiers=dict(self_tiers),
        n_pairs=len(pairs),
        verdicts=dict((k, dict(v)) for k, v in table.items()),
        tiers=dict(tiers),
        false_accepts=false_accepts,
        false_rejects=len(false_rejects),
        worker_startup_s=round(startup, 2),
        calls_per_s_cold=round(cold, 1),
        calls_per_s_warm=round(warm),
        calls_per_s_warm_pool_uncached=round(warm_pool, 1),
        calls_per_s_math_verify_only=round(mv_rate, 1),
        calls_per_s_rule_tiers_only=round(rules_rate),
        loop_lag_idle_ms=dict(worst=round(base_worst * 1000, 1), p99=round(base_p99 * 1000, 1)),
        loop_lag_grading_ms=dict(worst=round(worst * 1000, 1), p99=round(p99 * 1000, 1)),
        async_batch=dict(n=len(batch), seconds=round(batch_s, 2), undecided=sum(v is None for v in verdicts),
                         calls_per_s=round(len(batch) / batch_s, 1)),
    )
    print(f"AnswerBench v2: {out['n_golds']} golds; rules decide {out['golds_decided_by_rules']} "
          f"({out['golds_pattern_exact_only']} of them patterns, decidable only by exact match), None for {out['golds_none']}")
    print(f"{len(pairs)} (gold, prediction) pairs: verdicts by kind {out['verdicts']}")
    print(f"tiers {out['tiers']}")
    print(f"false accepts: {len(false_accepts)}  false rejects of equivalent rewrites: {len(false_rejects)}")
    for fr in false_rejects[:10]: print("  false reject:", fr)
    print(f"math_equiv calls/s: cold {out['calls_per_s_cold']} (incl. {out['worker_startup_s']}s worker start-up), "
          f"warm (cached) {out['calls_per_s_warm']}, warm pool uncached {out['calls_per_s_warm_pool_uncached']}, "
          f"math-verify tier only {out['calls_per_s_math_verify_only']}, rule tiers only {out['calls_per_s_rule_tiers_only']}")
    print(f"event loop lag: idle worst {out['loop_lag_idle_ms']['worst']} ms / p99 {out['loop_lag_idle_ms']['p99']} ms; "
          f"during {len(batch)} concurrent amath_equiv ({batch_s:.1f}s, {len(batch) / batch_s:.0f}/s) worst {out['loop_lag_grading_ms']['worst']} ms / "
          f"p99 {out['loop_lag_grading_ms']['p99']} ms")
    print(f"grade() on {speed['n']} responses (box / Minerva / 'answer is'; rules only): {speed['answers_per_s_cold']} answers/s cold "
          f"(fresh workers, empty caches), {speed['answers_per_s_warm']} answers/s warm; verdicts {speed['verdicts']}")
    print(f"recall on {rec['n']} true-equal pairs: accepted {rec['accepted']}, undecided {rec['undecided']}, rejected {rec['rejected']} "
          f"(accept rate {rec['accept_rate']})")
    print(f"issue 11 false accepts (want False or None): {issue}")
    return out


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)

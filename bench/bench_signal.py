"""Signal of the embedded model on the shipped samples: pass@1, pass@n and maj@n per sample set and prompt.

`python bench/bench_signal.py` measures every configuration below (a few minutes each on the shared embedded
SmolLM2-135M); `python bench/bench_signal.py math-easy-proposed gpqa-easy-current ...` measures only those;
`--show` prints the responses of the first problem; `--table` reprints the table from `--out` without model calls.
Each configuration runs `run_problem(llm, problem, n, turns=0, reflection="none", aggregation="voting")`, which
grades every sample with the package's own judges; pass@k is the unbiased estimator of `tts_nb.analysis`.
Results are appended to `--out` (JSONL) so that separate invocations build one table. A private response cache
(`--cache`) makes a repeated configuration free; its wall time is then marked "(cached)".
"""
from __future__ import annotations
import argparse, asyncio, json, re, time
from pathlib import Path
from tts_nb.benchmarks import load_imobench, load_gpqa, load_lcb_pro, load_samples, samples_dir
from tts_nb.analysis import unbiased_pass_at_k
from tts_nb.pipeline import run_problem
from tts_nb.judges import extract_answer_with_rule
from tts_nb.prompts import parse_choice

# ---- prompts: None = the package's current template; otherwise a `templates=` override
PROMPTS = {
    "math": {
        "proposed": {"system": "You are a helpful math assistant.",
                     "user": "{problem}\n\nGive a short answer. End with a line of the form \"Final answer: <answer>\"."},
        "short": {"system": "You are a helpful math assistant.",
                  "user": "{problem}\n\nReply with the final answer only, in the form \"Final answer: <number>\"."},
        "answeris": {"system": "You are a helpful math assistant.",
                     "user": "{problem}\n\nAnswer in one short sentence of the form \"The answer is ...\"."},
        "bare": {"system": "Answer with the final answer only.", "user": "{problem}"},
        "fewshot": {"system": "You are a helpful math assistant. Answer with the final answer only.",
                    "user": "Question: Compute $3 + 5$.\nFinal answer: 8\n\nQuestion: How many legs does a dog have?\n"
                            "Final answer: 4\n\nQuestion: {problem}\nFinal answer:"},
    },
    "science_qa": {
        "sys": {"system": "Reply with \"Answer: \" followed by the letter of the correct option, and nothing else.",
                "user": "{problem}"},
        "oneline": {"system": "You are a helpful science assistant.",
                    "user": "Question: {problem}\n\nReply with one line: Answer: <letter>"},
        "answeris": {"system": "You are a helpful science assistant.",
                     "user": "{problem}\n\nAnswer in one short sentence of the form \"The answer is X\", where X is the letter "
                             "of the correct option."},
        "copy": {"system": "You are a helpful science assistant.",
                 "user": "{problem}\n\nCopy the next line, replacing X with the letter of the correct option.\nAnswer: X"},
        "start": {"system": "You are a helpful science assistant.",
                  "user": "{problem}\n\nWhich option is correct? Start your reply with \"Answer:\" and the option, like \"Answer: B) ...\"."},
        "oneline2": {"system": "You answer multiple-choice questions. Your whole reply is one line: Answer: followed by the option letter.",
                     "user": "{problem}"},
        "fewshot": {"system": "You are a helpful science assistant.",
                    "user": "Example:\nQuestion: What color is the sky on a clear day?\nA) Green\nB) Blue\nC) Red\nD) Black\n"
                            "Answer: B\n\nQuestion: {problem}\nAnswer:"},
        "proposed": {"system": "You are a helpful science assistant.",
                     "user": "{problem}\n\nReply with the letter of the correct option in the form \"Answer: X\"."},
    },
    "code": {
        "oneshot": {"system": "You are a helpful programming assistant.",
                    "user": "Example task: read two integers and print their sum.\nExample solution:\n```cpp\n#include <iostream>\n"
                            "int main() {{\n    long long a, b;\n    std::cin >> a >> b;\n    std::cout << a + b << std::endl;\n}}\n```\n\n"
                            "Task:\n{problem}\n\nWrite a C++ program that solves this task, in one ```cpp code block."},
        "proposed": {"system": "You are a helpful programming assistant.",
                     "user": "{problem}\n\nWrite a short C++ program that solves this problem. It reads standard input "
                             "and writes standard output. Put the whole program in one ```cpp code block."},
    },
}
SETS = {  # (domain, sample set) -> loader
    ("math", "easy"): lambda: load_imobench(samples_dir() / "imobench" / "easy" / "answerbench_easy.csv"),
    ("math", "hard"): lambda: load_samples("math"),
    ("science_qa", "easy"): lambda: load_gpqa(samples_dir() / "gpqa" / "easy" / "gpqa_easy.csv"),
    ("science_qa", "hard"): lambda: load_samples("science_qa"),
    ("code", "easy"): lambda: load_lcb_pro(samples_dir() / "lcb_pro" / "easy" / "problems.jsonl",
                                           tests_dir=samples_dir() / "lcb_pro" / "easy"),
    ("code", "stdin"): lambda: [p for p in SETS["code", "easy"]() if p.meta["sample_tests"][0]["input"].strip()],
    ("code", "hard"): lambda: load_samples("code"),
}
ALIAS = {"math": "math", "gpqa": "science_qa", "lcb": "code"}
# name -> (domain, set, prompt, limit, temperature, max_tokens)
CONFIGS = {  # what RESULTS.md reports; other names are parsed by `parse_config`
    "math-easy-current": ("math", "easy", "current", 8, 0.7, 64),
    "math-easy-bare": ("math", "easy", "bare", 8, 0.7, 24),
    "math-easy-proposed": ("math", "easy", "proposed", 8, 0.7, 24),
    "math-easy-answeris": ("math", "easy", "answeris", 8, 0.7, 24),
    "math-easy-answeris-all": ("math", "easy", "answeris", 12, 0.7, 24),
    "math-hard-current": ("math", "hard", "current", 15, 0.7, 64),
    "math-hard-answeris": ("math", "hard", "answeris", 15, 0.7, 24),
    "gpqa-easy-current": ("science_qa", "easy", "current", 12, 0.7, 64),
    "gpqa-easy-proposed": ("science_qa", "easy", "proposed", 12, 0.7, 32),
    "gpqa-easy-answeris": ("science_qa", "easy", "answeris", 12, 0.7, 32),
    "gpqa-hard-current": ("science_qa", "hard", "current", 7, 0.7, 64),
    "gpqa-hard-proposed": ("science_qa", "hard", "proposed", 7, 0.7, 32),
    **{f"gpqa-easy-{w}-m16": ("science_qa", "easy", w, 8, 0.7, 16) for w in ("sys", "oneline", "fewshot", "start", "oneline2", "copy")},
    "lcb-easy-current": ("code", "easy", "current", 4, 0.7, 96),
    "lcb-easy-proposed": ("code", "easy", "proposed", 4, 0.7, 96),
    "lcb-stdin-proposed": ("code", "stdin", "proposed", 4, 0.7, 160),
    "lcb-stdin-oneshot": ("code", "stdin", "oneshot", 4, 0.7, 96),
    "lcb-stdin-oneshot-cold": ("code", "stdin", "oneshot", 4, 0.2, 96),
    "lcb-hard-current": ("code", "hard", "current", 5, 0.7, 128),
}

def parse_config(name: str) -> tuple:
    "A named configuration, or `<bench>-<set>-<prompt>[-l<limit>][-t<temperature>][-m<max_tokens>]`."
    if name in CONFIGS: return CONFIGS[name]
    bench, sset, prompt, *opts = name.split("-")
    dom = ALIAS[bench]
    limit, temp, mt = 8, 0.7, 64
    for o in opts:
        if o[0] == "l": limit = int(o[1:])
        elif o[0] == "t": temp = float(o[1:])
        elif o[0] == "m": mt = int(o[1:])
        else: raise ValueError(f"unknown option {o!r} in {name!r}")
    return dom, sset, prompt, limit, temp, mt

def templates_for(domain: str, prompt: str) -> dict | None:
    "The `templates=` override of a prompt name (None for the package's current prompt)."
    if prompt == "current": return None
    return {f"{domain}/solve": PROMPTS[domain][prompt]}

_IS = re.compile(r"(?i:answer|option)\s+is\s*:?\s*\(?([A-D])(?![A-Za-z0-9])")  # the letter itself upper case: not "is a"
_LEAD = re.compile(r"^\s*\(?([A-D])\)", re.M)

def lenient_choice(text: str) -> str | None:
    "A proposed fallback for `parse_choice`: `Answer: X`, else the last `answer/option is X`, else one stated `X) ...` line."
    strict = parse_choice(text)
    if strict: return strict
    found = _IS.findall(text or "")
    if found: return found[-1]
    leads = set(_LEAD.findall(text or ""))
    return leads.pop() if len(leads) == 1 else None  # several option lines: the options were echoed, not answered

def _sentence(text: str) -> bool:
    "Whether a math response was accepted from a whole last-line sentence (math_verify may then match a stray `$2+2$`)."
    ex = extract_answer_with_rule(text)
    return ex.rule == "last_line" and len(re.findall(r"[A-Za-z]{3,}", re.sub(r"\$[^$]*\$", " ", ex.answer or ""))) >= 3

async def measure(llm, name: str, n: int, show: bool = False) -> dict:
    "Run one configuration; per-problem correct counts, pass@1, pass@n, maj@n (voting), tokens and wall time."
    dom, sset, prompt, limit, temp, mt = parse_config(name)
    problems = SETS[dom, sset]()[:limit]
    t0 = time.perf_counter()
    runs = [await run_problem(llm, p, n=n, turns=0, reflection="none", aggregation="voting", temperature=temp,
                              max_tokens=mt, templates=templates_for(dom, prompt)) for p in problems]
    wall = time.perf_counter() - t0
    per, toks, rules, suspect, lenient = [], 0, {}, 0, []
    for r in runs:
        gen = [s for s in r.solutions if s.role == "generate"]
        per.append(sum(bool(s.correct) for s in gen))
        toks += sum(s.tokens_completion or 0 for s in gen)
        if dom == "science_qa": lenient.append(sum(lenient_choice(s.text) == r.problem.answer for s in gen))
        suspect += sum(bool(s.correct) and dom == "math" and _sentence(s.text) for s in gen)
        for s in gen: rules[str(s.answer is not None)] = rules.get(str(s.answer is not None), 0) + 1
        if show and r is runs[0]:
            for s in gen: print(f"--- {r.problem.id} correct={s.correct} answer={s.answer!r}\n{s.text[:400]}")
    p1 = sum(unbiased_pass_at_k(n, c, 1) for c in per) / len(per)
    pn = sum(unbiased_pass_at_k(n, c, n) for c in per) / len(per)
    lp = (lambda k: sum(unbiased_pass_at_k(n, c, k) for c in lenient) / len(lenient)) if lenient else None
    maj = sum(bool(r.final.correct) for r in runs) / len(runs)
    return dict(config=name, domain=dom, set=sset, prompt=prompt, limit=len(problems), n=n, temperature=temp,
                max_tokens=mt, correct=per, pass1=p1, passn=pn, maj=maj, answered=rules.get("True", 0) / max(1, sum(rules.values())),
                suspect=suspect, lenient_pass1=lp and lp(1), lenient_passn=lp and lp(n), tokens=toks, wall_s=round(wall, 1), cached=wall < 0.05 * len(problems) * n)

def _lenient(r: dict) -> str:
    return "" if r.get("lenient_pass1") is None else f"{r['lenient_pass1']:.1%} / {r['lenient_passn']:.0%}"

def table(rows: list[dict]) -> str:
    "The results as a Markdown table."
    head = ("| config | problems × n | T | max_tokens | pass@1 | pass@n | maj@n (voting) | answer found | "
            "correct per problem | of which suspect | lenient choice pass@1 / pass@n | tokens out | wall s |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    lines = [f"| {r['config']} | {r['limit']} × {r['n']} | {r['temperature']} | {r['max_tokens']} | {r['pass1']:.1%} | "
             f"{r['passn']:.0%} | {r['maj']:.0%} | {r['answered']:.0%} | {' '.join(map(str, r['correct']))} | {r.get('suspect', '')} | {_lenient(r)} | {r['tokens']} | "
             f"{r['wall_s']}{' (cached)' if r['cached'] else ''} |" for r in rows]
    return "\n".join([head, *lines])

# reflection prompts that keep the short answer format (for smoke runs with turns >= 1)
REFLECT = {
    "math": {"math/no_feedback": {"system": "You are a helpful math assistant.",
             "user": "{problem}\n\nA previous answer was: {solution}\n\nCheck it. Answer in one short sentence of the form "
                     "\"The answer is ...\"."}},
}
BENCH_FILES = {"imobench": ("math", "imobench/easy/answerbench_easy.csv"), "gpqa": ("science_qa", "gpqa/easy/gpqa_easy.csv"),
               "lcb_pro": ("code", "lcb_pro/easy/problems.jsonl")}

async def run_notebook_config(spec: str) -> dict:
    "Time one run-notebook configuration end to end with `experiment()`: `bench:prompt:limit:n:turns:reflection:T:max_tokens`."
    import tempfile
    from tts_nb.pipeline import experiment
    bench, prompt, limit, n, turns, refl, temp, mt = spec.split(":")
    dom, rel = BENCH_FILES[bench]
    tpl = {**(templates_for(dom, prompt) or {}), **(REFLECT.get(dom, {}) if prompt != "current" else {})}
    extra = dict(tests_dir=samples_dir() / "lcb_pro" / "easy") if bench == "lcb_pro" else {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rd = await experiment(bench, data_path=samples_dir() / rel, limit=int(limit), n=int(n), turns=int(turns),
                              reflection=refl, aggregation="voting", temperature=float(temp), max_tokens=int(mt),
                              run_dir=Path(tmp) / "run", progress=False, cache=False, templates=tpl or None, **extra)
        wall = time.perf_counter() - t0
        summ = json.loads((Path(rd) / "summary.json").read_text())
        keep = ("final_accuracy", "accuracy_per_turn", "pass_at_k", "maj_at_k", "n_calls", "total_tokens", "n_failed")
        return dict(spec=spec, wall_s=round(wall, 1), **{k: summ.get(k) for k in keep})

async def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("configs", nargs="*", help=f"configurations (default: all of {list(CONFIGS)})")
    ap.add_argument("-n", type=int, default=8, help="samples per problem")
    ap.add_argument("--out", default="bench/out/signal.jsonl", help="JSONL file the results are appended to")
    ap.add_argument("--cache", default="bench/out/signal_cache.sqlite", help="response cache of these measurements")
    ap.add_argument("--show", action="store_true", help="print the responses to the first problem")
    ap.add_argument("--table", action="store_true", help="only print the table of the results in --out")
    ap.add_argument("--experiment", nargs="+", metavar="SPEC",
                    help="time run-notebook configurations end to end, e.g. imobench:answeris:8:8:0:none:0.7:24")
    a = ap.parse_args(argv)
    if a.experiment:
        for spec in a.experiment: print(json.dumps(await run_notebook_config(spec)), flush=True)
        return
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    if not a.table:
        from tts_nb.llm import LLM
        llm = LLM(cache=a.cache)
        try:
            for name in a.configs or list(CONFIGS):
                r = await measure(llm, name, a.n, a.show)
                with open(out, "a") as f: f.write(json.dumps(r) + "\n")
                print(table([r]).splitlines()[-1], flush=True)
        finally: await llm.aclose()
    rows = [json.loads(l) for l in out.read_text().splitlines() if l.strip()] if out.exists() else []
    keep = {}  # the latest measurement of each (config, n)
    for r in rows:  # a cached re-measurement keeps the first real wall time
        k = (r["config"], r["n"])
        keep[k] = dict(r, wall_s=keep[k]["wall_s"], cached=keep[k]["cached"]) if r["cached"] and k in keep else r
    print(table([r for r in keep.values() if not a.configs or r["config"] in a.configs]))

if __name__ == "__main__": asyncio.run(main())

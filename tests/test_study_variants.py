"""The study's variants, one test per row of issue 12's table, against a real HTTP server (`FakeOpenAIServer`):
call counts and roles in the ledger, what the model was told, what reached the endpoint, what config.json records."""
import asyncio, json
import pytest
import functioncall
from tts_nb.bank import load_run, read_jsonl
from tts_nb.benchmarks import Problem, load_samples
from tts_nb.llm import LLM
from tts_nb.operators import Solution
from tts_nb.prompts import parse_code_block
from tts_nb.reflection import reflect
from tts_nb.aggregation import aggregate
from tts_nb.patterns import run_problem
from tts_nb.pipeline import experiment
from tts_nb.testing import FakeOpenAIServer, ScriptedLLM
from tts_nb import analysis

MATH = Problem("m1", "math", "What is $1 + 1$?", "2")
GOOD = "```cpp\n#include <cstdio>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b);}\n```"
BAD = GOOD.replace("a+b", "a-b")


def _user(body) -> str: return body["messages"][-1]["content"]


def judge_or(fixed, verdict="INCORRECT"):
    "A responder: a grader's reply (naming the reference) to the autograder prompt, `fixed` to everything else."
    def respond(msgs, params, i):
        if "Reference answer" in msgs[-1]["content"]:
            return f"Extracted answer: 3\nReasoning: the reference answer is 2; the response says 3.\nVerdict: {verdict}"
        return fixed
    return respond


async def _with_server(respond, work):
    "Run `work(llm, server)` against a fresh server; returns its result."
    with FakeOpenAIServer(respond) as srv:
        llm = LLM("fake", base_url=srv.url, cache=False)
        try: return await work(llm, srv)
        finally: await llm.aclose()


# ground-truth reflection: refine_correct, gt_feedback="verdict" | "judge"
def test_ground_truth_study_variants():
    wrong, right = Solution("1 + 1 = 3, so \\boxed{3}"), Solution("1 + 1 = 2, so \\boxed{2}", answer="2", correct=True)
    async def work(llm, srv):
        out = {}
        out["verdict"] = await reflect(llm, MATH, wrong, "ground_truth", gt_feedback="verdict")
        out["verdict_body"] = srv.bodies[-1]
        out["judge"] = await reflect(llm, MATH, wrong, "ground_truth", gt_feedback="judge")
        out["judge_body"] = srv.bodies[-1]
        n = len(srv.bodies)
        out["kept"] = await reflect(llm, MATH, right, "ground_truth")                       # ours: the grader, kept
        out["kept_calls"] = len(srv.bodies) - n
        out["always"] = await reflect(llm, MATH, right, "ground_truth", refine_correct=True)  # the study: refined anyway
        out["always_body"] = srv.bodies[-1]
        return out, llm.ledger, list(srv.bodies)
    out, led, bodies = asyncio.run(_with_server(judge_or("Fixed: \\boxed{2}"), work))
    # verdict: one judge call, then one reflection told only "incorrect"
    assert list(led.role[:4]) == ["judge", "reflect", "judge", "reflect"]
    v = out["verdict"]
    assert (v.meta["feedback"], v.meta["oracle"], v.meta["usage"]["judge"]["calls"]) == ("incorrect", False, 1)
    told = _user(out["verdict_body"]).split("## Feedback")[1]
    assert "incorrect" in told and "reference answer is 2" not in told and "2" not in told.split("\n\n")[0]
    assert "Reference answer" in _user(bodies[0]) and bodies[0]["temperature"] == 0.0   # the check: the autograder prompt
    assert out["verdict_body"]["temperature"] == 0.7
    # judge: the comparison reaches the model, flagged as an oracle
    assert "the reference answer is 2" in _user(out["judge_body"]) and out["judge"].meta["oracle"] is True
    # refine_correct: a correct solution is kept by default (no call), refined with the study's option
    assert out["kept_calls"] == 0 and out["kept"].meta["kept"] is True
    assert out["always"].meta["kept"] is False and "it is correct" in _user(out["always_body"])
    assert list(led.role[4:]) == ["reflect"]


# executed-test reflection: feedback_tests="hidden" (all tests run), feedback="sparse"
def test_code_execution_hidden_tests_and_sparse_feedback():
    apb = next(p for p in load_samples("code") if p.id == "sample-a-plus-b")
    full = functioncall.judge_problem_dir(parse_code_block(BAD), "cpp", apb.meta["problem_dir"], stop_on_first_failure=False)
    async def work(llm, srv):
        h = await reflect(llm, apb, Solution(BAD), "code_execution", feedback_tests="hidden")
        hb = srv.bodies[-1]
        s = await reflect(llm, apb, Solution(BAD), "code_execution", feedback_tests="hidden", feedback="sparse")
        return h, hb, s, srv.bodies[-1], llm.ledger
    h, hb, s, sb, led = asyncio.run(_with_server(lambda m, p, i: "Fixed:\n" + GOOD, work))
    assert list(led.role) == ["reflect", "reflect"]
    ex = h.meta["execution"]
    assert (ex["passed"], ex["total"], ex["tests"]) == (full.passed, full.total, "hidden") and full.total > 2
    assert ex["seconds"] > 0 and h.meta["oracle"] is True
    assert f"passed {full.passed} of {full.total} hidden tests" in _user(hb)
    assert all(k in _user(hb) for k in ("Input:\n", "Your output:\n", "Expected output:\n"))
    assert s.meta["feedback"] == f"Result: WA (wrong answer); passed {full.passed} of {full.total} hidden tests."
    assert "Input:" not in _user(sb) and "Expected output" not in _user(sb)


# patterns: aggregate then refine the winner once, repeated (sparse 2 x 2); generate n from n
def test_aggregate_then_refine_and_generate_n_from_n():
    def respond(msgs, params, i):
        u = msgs[-1]["content"]
        if "Candidate solutions" in u: return "From all: \\boxed{2}"
        return "Fixed: \\boxed{2}" if "previous solution" in u else f"Guess \\boxed{{{i + 1}}}"
    async def work(llm, srv):
        a = await run_problem(llm, MATH, n=3, turns=0, pattern="aggregate_then_refine", reflection="no_feedback",
                              aggregation="voting", rounds=2, refinements=2)
        roles_a = llm.ledger.role.value_counts().to_dict()
        g = await run_problem(llm, MATH, n=3, turns=2, pattern="generate_n_from_n", reflection="none", aggregation="voting")
        roles_g = llm.ledger.role.value_counts().to_dict()
        return a, roles_a, g, roles_g
    a, roles_a, g, roles_g = asyncio.run(_with_server(respond, work))
    assert [s.role for s in a.solutions] == ["generate"] * 3 + ["aggregate", "reflect", "reflect"] * 2 + ["aggregate"]
    assert roles_a == {"generate": 3, "reflect": 4} and a.final.correct
    assert [(s.role, s.turn) for s in g.solutions][3:] == [("generate", 1)] * 3 + [("generate", 2)] * 3 + [("aggregate", 2)]
    assert roles_g == {"generate": 6, "reflect": 4, "aggregate": 6}          # n writers per turn, 2 turns
    assert all(len(s.parent_ids) == 3 for s in g.solutions[3:9]) and g.final.correct


# pairwise: every pair once in one order (orders=1), win 1 / tie 0.5; ours both orders
def test_pairwise_one_order():
    pop = [Solution(f"cand {k} \\boxed{{{k}}}" + (" GOOD" if k == 2 else ""), chain=k) for k in range(4)]
    def respond(msgs, params, i):
        u = msgs[-1]["content"]
        first = u.split("## Solution 2")[0]
        return "Better Solution: Solution 1" if "GOOD" in first else "Better Solution: Solution 2" if "GOOD" in u else "no verdict"
    async def work(llm, srv):
        one = await aggregate(llm, MATH, pop, "pairwise", orders=1, seed=1)
        n1 = len(srv.bodies)
        two = await aggregate(llm, MATH, pop, "pairwise")
        return one, n1, two, len(srv.bodies) - n1, llm.ledger
    one, n1, two, n2, led = asyncio.run(_with_server(respond, work))
    assert (n1, n2) == (6, 12) and set(led.role) == {"aggregate"}
    assert len({frozenset((c["first"], c["second"])) for c in one.meta["comparisons"]}) == 6
    assert one.meta["selected"] == two.meta["selected"] == "t0/c2/generate"
    assert one.meta["points"] == [1.0, 1.0, 3.0, 1.0]                         # 3 wins; the other matches ties (0.5 each)


# rubric prompts per domain, and the structured math prompt (reflection on the detailed solution)
def test_rubrics_and_structured_math_prompt():
    def respond(msgs, params, i):
        u = msgs[-1]["content"]
        if "## Rubric" in u: return "Score: 8"
        if "Verification log" in u: return "no"
        if "Verify the following" in u: return "Critical Error: step 1."
        return "### Summary\n(a) Verdict: SUMMARY-TEXT.\n### Detailed Solution\nDETAIL-TEXT so \\boxed{2}"
    async def work(llm, srv):
        r = await run_problem(llm, MATH, n=2, turns=1, reflection="self_evaluation", aggregation="llm_scoring", templates="study")
        return r, list(srv.bodies), llm.ledger
    r, bodies, led = asyncio.run(_with_server(respond, work))
    users = [_user(b) for b in bodies]
    assert all("### Detailed Solution" in u for u in users[:2])              # the structured solve prompt
    verify = [u for u in users if "Verify the following" in u]
    assert len(verify) == 2 and all("DETAIL-TEXT" in u and "SUMMARY-TEXT" not in u for u in verify)
    scores = [u for u in users if "## Rubric" in u]
    assert len(scores) == 2 and all("Critical Error" in u and "Justification Gap" in u for u in scores)
    assert r.final.correct and (led.role == "aggregate").sum() == 2
    code = Problem("c1", "code", "Print a + b.", None)
    from tts_nb.operators import Calls
    assert "Efficiency" in Calls(None, code, dict(templates="rubrics")).messages("score", solution="x", scale=10)[-1]["content"]
    with pytest.raises(ValueError, match="unknown template preset"):
        asyncio.run(run_problem(ScriptedLLM(), MATH, n=1, turns=0, templates="studdy"))


# reasoning effort and temperatures per stage: run options, notebook parameters, recorded in config.json
def test_reasoning_effort_and_temperatures_per_stage_end_to_end(tmp_path):
    def respond(msgs, params, i): return "So \\boxed{2}." if "Selected" not in msgs[-1]["content"] else "Selected: 1"
    effort = {"generate": "high", "reflect": "low", "aggregate": "medium"}
    with FakeOpenAIServer(respond) as srv:
        rd = asyncio.run(experiment("imobench", model="fake", base_url=srv.url, limit=1, n=2, turns=1,
                                    reflection="no_feedback", aggregation="select_one", reasoning_effort=effort,
                                    temperatures={"reflect": 0.3, "aggregate": 0.1}, temperature=0.9, max_tokens=16,
                                    run_dir=tmp_path / "run", progress=False, cache=False))
        bodies = list(srv.bodies)
    stage = lambda b: ("aggregate" if "Candidate solutions" in _user(b) else "reflect" if "previous solution" in _user(b) else "generate")
    seen = {(stage(b), b.get("reasoning_effort"), b["temperature"]) for b in bodies}
    assert seen == {("generate", "high", 0.9), ("reflect", "low", 0.3), ("aggregate", "medium", 0.1)}
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["reasoning_effort"] == effort and cfg["temperatures"] == {"reflect": 0.3, "aggregate": 0.1}
    import nbformat, pathlib
    nbs = pathlib.Path(__file__).resolve().parent.parent / "nbs"
    for name in ("run_imobench", "run_gpqa", "run_lcb"):
        params = next(c.source for c in nbformat.read(nbs / f"{name}.ipynb", 4).cells if "parameters" in c.metadata.get("tags", []))
        assert "reasoning_effort:" in params and "temperatures:" in params, name
        if name == "run_lcb": assert "split:" in params


# the LCB Pro split reaches the loader and is recorded
def test_lcb_split_is_recorded(tmp_path):
    with FakeOpenAIServer(lambda m, p, i: GOOD) as srv:
        rd = asyncio.run(experiment("lcb_pro", model="fake", base_url=srv.url, limit=1, n=1, turns=0, reflection="none",
                                    split="release_v6", max_tokens=16, run_dir=tmp_path / "lcb", progress=False, cache=False))
    assert json.loads((rd / "config.json").read_text())["benchmark_options"]["split"] == "release_v6"


# metrics: time shares (generation, grading, judging, code execution), no-answer rate, pass@k over all turns,
# mean +- std over seeds
def test_time_shares_and_seed_spread(tmp_path):
    def respond(msgs, params, i): return GOOD if "Feedback from running" in msgs[-1]["content"] else BAD
    with FakeOpenAIServer(respond) as srv:
        dirs = [asyncio.run(experiment("lcb_pro", model="fake", base_url=srv.url, limit=1, n=1, turns=1,
                                       reflection="code_execution", aggregation="voting", max_tokens=16, seed=s,
                                       sampling_seed=s, run_dir=tmp_path / f"s{s}", progress=False, cache=False))
                for s in (0, 1)]
    run = load_run(dirs[0])
    rows = read_jsonl(dirs[0] / "solutions.jsonl")
    assert any(r["meta"].get("execution", {}).get("seconds", 0) > 0 for r in rows)
    assert sum(r["meta"]["grade"]["seconds"] for r in rows) > 0
    ts = analysis.time_shares(run).set_index("part")
    assert list(ts.index) == list(analysis.TIME_SHARES)
    assert ts.loc["code execution", "seconds"] > 0 and ts.loc["grading", "seconds"] > 0 and abs(ts.share.sum() - 1) < 1e-9
    assert set(analysis.latency_by_role(run).role) == {"generate", "reflect"}
    assert analysis.no_answer_rate(run) == {"first_samples": 0.0, "final": 0.0}
    # pass@k over all turns: the chain was wrong at turn 0 and right after its reflection
    assert analysis.pass_at_k(run, turn=0).pass_at_k.tolist() == [0.0]
    assert analysis.pass_at_k_all_turns(run).pass_at_k.tolist() == [1.0]
    sp = analysis.seed_spread(dirs)
    assert (sp.n_runs.tolist(), sp.setting.tolist()) == ([2], ["all runs"]) and "±" in sp.mean_std[0]

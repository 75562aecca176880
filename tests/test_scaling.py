"""Recursive self-aggregation, confidence voting (DeepConf) and adaptive stopping against a real local HTTP server:
the call structure each method makes, what the sample bank keeps, and that the analysis takes the runs like any other."""
import asyncio, json, math, random
import pytest
from aiohttp import web
from tts_nb import analysis, operators
from tts_nb import scaling  # its functions; the runner (tts_nb.pipeline) registers its methods too
from tts_nb.aggregation import aggregate
from tts_nb.bank import load_run
from tts_nb.benchmarks import Problem, load_samples
from tts_nb.llm import LLM, LogprobsUnavailable
from tts_nb.offline import offline_aggregation
from tts_nb.operators import Solution
from tts_nb.patterns import run_problem
from tts_nb.pipeline import run_experiment
from tts_nb.testing import FakeOpenAIServer

PROB = Problem("t-1", "math", "Compute $3 - 1$.", "2")
CANDIDATES = "## Candidate solutions"


def run(coro): return asyncio.run(coro)
def client(srv): return LLM("fake", base_url=srv.url, cache=False, max_retries=1)
SEED = 1000  # sampling_seed: a request's seed is SEED + its first sample index, so a server can tell the samples apart


def index(params, i):
    "The sample index of the i-th answer of a request made with sampling_seed=SEED."
    return params["seed"] - SEED + i


def is_aggregation(body): return CANDIDATES in body["messages"][-1]["content"]


def wire_logprobs(text, peak, k=5):
    "OpenAI-format logprobs of `text` (a token per word): the sampled token has probability `peak`."
    top = [math.log(peak)] + [math.log((1 - peak) / (k - 1))] * (k - 1)
    return {"content": [{"token": w, "logprob": top[0], "top_logprobs": [{"token": f"t{j}", "logprob": x} for j, x in enumerate(top)]}
                        for w in text.split()]}


class LogprobServer(FakeOpenAIServer):
    "A FakeOpenAIServer that serves logprobs when a request asks; `peak(text)` sets how confident each answer is."
    def __init__(self, respond, peak, **kw): super().__init__(respond, **kw); self.peak = peak

    async def _handle(self, request):
        resp = await super()._handle(request)
        if not (await request.json()).get("logprobs") or resp.status != 200: return resp
        data = json.loads(resp.body)
        for ch in data["choices"]: ch["logprobs"] = wire_logprobs(ch["message"]["content"], self.peak(ch["message"]["content"]))
        return web.json_response(data)


# ------------------------------------------------------------------ recursive self-aggregation

def test_rsa_makes_n_by_t_aggregations_over_recorded_k_subsets():
    def respond(msgs, params, i):
        return "Merged: \\boxed{2}" if CANDIDATES in msgs[-1]["content"] else f"Guess \\boxed{{{i % 3}}}"
    n, k, t = 5, 3, 3
    with FakeOpenAIServer(respond) as srv:
        llm = client(srv)
        pr = run(run_problem(llm, PROB, n=n, turns=t, pattern="rsa", subset_size=k, seed=7, max_tokens=32))
        bodies = list(srv.bodies)
    agg = [b for b in bodies if is_aggregation(b)]
    assert len(agg) == n * t                                                    # N x T aggregation calls
    assert all(b["messages"][-1]["content"].count("### Solution") == k for b in agg)  # each over K candidates
    assert (llm.ledger.role == "aggregate").sum() == n * t
    rows = pr.rows()
    for step in range(1, t + 1):
        members = [r for r in rows if r["turn"] == step and r["role"] == "generate"]
        assert [r["chain"] for r in members] == list(range(n))
        rng = random.Random(f"7/t-1/rsa/{step}")                                # the seeded draw, recomputed
        for r in members:
            assert r["parent_ids"] == [f"t-1/t{step - 1}/c{j}/generate" for j in rng.sample(range(n), k)]
            assert r["meta"]["aggregation"] == "generate_one" and r["meta"]["rsa_step"] == step
    final = rows[-1]
    assert (final["role"], final["turn"], final["meta"]["aggregation"], final["correct"]) == ("aggregate", t, "voting", True)
    assert final["parent_ids"] == [f"t-1/t{t}/c{j}/generate" for j in range(n)]
    assert len({r["id"] for r in rows}) == len(rows) == n * (t + 1) + 1


def test_rsa_and_adaptive_refuse_bad_configurations_before_any_call():
    with FakeOpenAIServer() as srv:
        llm = client(srv)
        with pytest.raises(ValueError, match="subset_size must be an integer from 1 to n=2"):
            run(run_problem(llm, PROB, n=2, turns=1, pattern="rsa", subset_size=3))
        with pytest.raises(ValueError, match="does not reflect"):
            run(run_problem(llm, PROB, n=2, turns=1, pattern="rsa", reflection="no_feedback", subset_size=2))
        with pytest.raises(ValueError, match="has no turns"):
            run(run_problem(llm, PROB, n=4, turns=2, pattern="adaptive_consistency"))
        with pytest.raises(ValueError, match="threshold is a probability"):
            run(run_problem(llm, PROB, n=4, turns=0, pattern="adaptive_consistency", threshold=2))
        assert srv.requests == 0


# ------------------------------------------------------------------ adaptive consistency

@pytest.mark.parametrize("answer,samples", [(lambda i: 2, 4), (lambda i: 2 + i % 2, 8)], ids=["agreeing", "split"])
def test_adaptive_spends_fewer_samples_when_the_first_ones_agree(answer, samples):
    with FakeOpenAIServer(lambda m, p, i: f"\\boxed{{{answer(i)}}}", supports_n=True) as srv:
        pr = run(run_problem(client(srv), PROB, n=8, turns=0, pattern="adaptive_consistency", batch=2, max_tokens=16))
        bodies = list(srv.bodies)
    assert [b.get("n", 1) for b in bodies] == [2] * (samples // 2)             # one request per batch, no more
    assert pr.final.meta["adaptive"]["samples"] == samples == len(pr.solutions) - 1
    assert pr.final.meta["adaptive"]["stopped_early"] == (samples < 8)
    assert pr.rows()[-1]["meta"]["adaptive"]["samples"] == samples              # recorded in the bank


def test_stop_probability_is_the_beta_posterior():
    from scipy.stats import beta
    for v1, v2 in [(0, 0), (1, 0), (4, 0), (3, 1), (7, 5), (30, 25)]:
        assert abs(scaling.beta_stop_probability(v1, v2) - beta.sf(0.5, v1 + 1, v2 + 1)) < 1e-9


# ------------------------------------------------------------------ confidence voting

def parsed_logprobs(text, peak):
    "`wire_logprobs` as `Completion.logprobs` holds them."
    return [dict(t, top_logprobs=[x["logprob"] for x in t["top_logprobs"]]) for t in wire_logprobs(text, peak)["content"]]


def _pop(answers, peaks):
    return [Solution(f"so \\boxed{{{a}}}", chain=i, meta={"confidence": operators.confidence_summaries(parsed_logprobs(f"so {a}", p))})
            for i, (a, p) in enumerate(zip(answers, peaks))]


def test_confidence_voting_with_equal_confidences_and_eta_one_is_majority_voting():
    rng = random.Random(0)
    for _ in range(60):
        answers = [rng.choice("1234") if rng.random() > 0.1 else "x" for _ in range(rng.randint(1, 9))]
        pop = _pop(answers, [0.6] * len(answers))
        v = run(aggregate(None, PROB, pop, "voting"))
        c = run(aggregate(None, PROB, pop, "confidence_voting", keep_top=1.0))
        assert (c.meta.get("selected"), c.text) == (v.meta.get("selected"), v.text), answers


def test_a_confident_minority_beats_an_unconfident_majority():
    pop = _pop("22233", [0.3, 0.3, 0.3, 0.95, 0.95])
    assert run(aggregate(None, PROB, pop, "voting")).text.endswith("{2}")
    for opts in (dict(keep_top=1.0, confidence="mean"), dict(keep_top=0.4), dict(keep_top=0.1, confidence="tail")):
        assert run(aggregate(None, PROB, pop, "confidence_voting", **opts)).text.endswith("{3}"), opts


def test_confidence_voting_requests_logprobs_and_keeps_only_summaries():
    def respond(m, p, i): return "so \\boxed{2}" if index(p, i) == 3 else "so \\boxed{7}"
    with LogprobServer(respond, lambda text: 0.95 if "{2}" in text else 0.3, supports_n=True) as srv:
        pr = run(run_problem(client(srv), PROB, n=4, turns=0, pattern="adaptive_consistency", batch=4,
                             aggregation="confidence_voting", keep_top=0.5, max_tokens=16, sampling_seed=SEED))
        bodies = list(srv.bodies)
    assert all(b.get("logprobs") is True and b.get("top_logprobs") == 20 for b in bodies)
    assert (pr.final.answer, pr.final.correct) == ("2", True)                 # plain voting would take 7
    rows = pr.rows()
    assert all(set(r["meta"]["confidence"]) >= set(scaling.CONFIDENCES) for r in rows[:4])
    assert "top_logprobs" not in json.dumps(rows) and '"logprob"' not in json.dumps(rows)


def test_an_endpoint_without_logprobs_is_an_error_at_the_start():
    with FakeOpenAIServer(lambda m, p, i: "\\boxed{2}") as srv:
        with pytest.raises(LogprobsUnavailable, match="returned no logprobs"):
            run(scaling.require_logprobs(client(srv)))
        with pytest.raises(LogprobsUnavailable, match="returned no logprobs"):
            run(run_problem(client(srv), PROB, n=4, turns=1, pattern="rsa", subset_size=2, aggregation="confidence_voting"))
        assert not any(is_aggregation(b) for b in srv.bodies)                   # nothing after the first generation


def test_confidence_voting_on_the_studys_pattern():
    "reflect_then_aggregate generates through operators.generate: it must record confidence summaries too."
    with LogprobServer(lambda m, p, i: "so \\boxed{2}", lambda t: 0.9) as srv:
        pr = run(run_problem(client(srv), PROB, n=2, turns=0, aggregation="confidence_voting", max_tokens=16))
    assert pr.final.correct and "confidence" in pr.solutions[0].meta


# ------------------------------------------------------------------ banks, offline, matched compute

def _mixed(problems):
    golds = {p.statement: p.answer for p in problems}
    def respond(msgs, params, i):
        u = msgs[-1]["content"]
        found = next(((k, a) for k, (st, a) in enumerate(golds.items()) if st in u), None)
        if found is None: return "OK"   # the runner's one-token logprobs probe
        k, gold = found
        if "Selected:" in u: return "Selected: 1"
        if CANDIDATES in u: return f"\\boxed{{{gold}}}"
        if k == 0 and index(params, i) == 1: return "I am not sure."              # no answer: no vote
        return f"so \\boxed{{{'7' if (k == 1 and index(params, i) % 2 == 0) else gold}}}"
    return respond


@pytest.fixture(scope="module")
def banks(tmp_path_factory):
    "Runs of every new method and the study's, over two shipped problems, on one scripted HTTP server."
    tmp, problems = tmp_path_factory.mktemp("scaling"), load_samples("math")[:2]
    cfg = dict(benchmark="imobench", domain="math", data_path=None)
    grid = {"voting-n8": dict(n=8, turns=0, reflection="none"),
            "adaptive": dict(n=8, turns=0, reflection="none", pattern="adaptive_consistency", batch=2),
            "rsa": dict(n=4, turns=2, reflection="none", pattern="rsa", subset_size=2),
            "conf": dict(n=4, turns=0, reflection="none", pattern="adaptive_consistency", batch=4, aggregation="confidence_voting"),
            "rta-select": dict(n=4, turns=1, reflection="no_feedback", aggregation="select_one"),
            "aet": dict(n=4, turns=1, reflection="no_feedback", pattern="aggregate_each_turn")}
    with LogprobServer(_mixed(problems), lambda t: 0.3 if "{7}" in t else 0.9, supports_n=True) as srv:
        for name, kw in grid.items():
            llm = client(srv)
            run(run_experiment(problems, llm, tmp / name, config=cfg, progress=False, max_tokens=16, sampling_seed=SEED, **kw))
    return {name: load_run(tmp / name) for name in grid}


def test_compute_table_and_pareto_frontier_take_the_new_methods(banks):
    runs = list(banks.values())
    table = analysis.compute_table(runs).set_index("run")
    assert list(table.index) == list(banks)
    for name, r in banks.items():
        per_problem = r.calls.groupby("problem_id").tokens.sum()
        assert table.loc[name, "tokens"] == per_problem.mean() > 0
        assert table.loc[name, "n_problems"] == 2
    assert table.loc["rsa", "calls"] > 0 and table.loc["rsa", "aggregation"] == "voting"
    assert table.loc["conf", "aggregation"] == "confidence_voting"
    assert table.loc["adaptive", "tokens"] < table.loc["voting-n8", "tokens"]  # problem 0 agrees: stopped early
    front = analysis.pareto_frontier(table.reset_index())
    assert len(front) and set(front.run) <= set(banks)


def test_rsa_populations_are_population_turns_for_the_analysis(banks):
    per_turn = analysis.accuracy_per_turn(banks["rsa"], n_boot=0)
    pop = per_turn[per_turn.stage == "population"]
    assert list(pop.turn) == [0, 1, 2]
    assert list(analysis.pass_at_k(banks["rsa"], turn=2).k) == [1, 2, 3, 4]


def test_offline_confidence_voting_reads_the_stored_summaries(banks):
    off = run(offline_aggregation(banks["conf"].path, ["voting", "confidence_voting"], ns=(2, 4), repeats=2))
    assert len(off) == 2 * 2 * 2 * 2 and off.correct.notna().all()
    with pytest.raises(ValueError, match="generated without logprobs"):
        run(offline_aggregation(banks["voting-n8"].path, "confidence_voting", ns=(2,), repeats=1))


def test_samples_vs_accuracy_replays_what_the_adaptive_run_did(banks):
    t = scaling.samples_vs_accuracy([banks["voting-n8"], banks["adaptive"]], batch=2, thresholds=(0.95,))
    live = t[t.method == "adaptive (run)"].iloc[0]
    replay = t[t.method == "adaptive (replayed)"].iloc[0]
    # problem 0: a sample without an answer, then agreement (stops at 6 of 8); problem 1: a 4-4 tie, first seen (7) wins
    assert (live.samples, live.accuracy) == (replay.samples, replay.accuracy) == (7.0, 0.5)
    assert sorted(t[t.method == "voting"].samples) == list(range(1, 9))

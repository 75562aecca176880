"""The autograder in a run: judge calls only where the rules are undecided ('rules+llm') or everywhere ('llm'),
judge rows in calls.jsonl, its key never stored or sent to the solver; `regrade` regrades from stored texts with no
generation request; the run notebook takes the judge as papermill parameters."""
import asyncio, json, os, subprocess, sys
from pathlib import Path
import pytest
from tts_nb.pipeline import experiment, regrade
from tts_nb.bank import read_jsonl
from tts_nb.benchmarks import load_benchmark
from tts_nb.testing import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent


def solver(msgs, params, i):
    "Every sample says 'odd n' — the right answer to text-answer problems, wrong elsewhere."
    return "Checking small cases, the condition holds exactly when $n$ is odd. Final answer: odd $n$"


def judge(msgs, params, i):
    u = msgs[-1]["content"]
    gold = u.split("## Reference answer")[1].split("##")[0] if "## Reference answer" in u else ""
    ok = "odd" in gold
    return f"Extracted answer: odd n\nReasoning: compared.\nVerdict: {'CORRECT' if ok else 'INCORRECT'}"


def _run(tmp_path, name, **kw):
    with FakeOpenAIServer(solver) as s, FakeOpenAIServer(judge) as j:
        rd = asyncio.run(experiment("imobench", model="solver", base_url=s.url, api_key="sk-solver", n=2, turns=0,
                                    reflection="none", max_tokens=32, run_dir=tmp_path / name, progress=False, cache=False,
                                    judge_model="judge", judge_base_url=j.url, judge_api_key="sk-judge-secret", **kw))
        return rd, list(s.bodies), list(j.bodies)


def test_rules_plus_llm_grades_everything_and_calls_the_judge_only_when_undecided(tmp_path):
    probs = load_benchmark("imobench")
    rd, solver_bodies, judge_bodies = _run(tmp_path, "rl")
    s = json.loads((rd / "summary.json").read_text())
    assert s["n_ungraded"] == 0 and s["n_graded"] == len(probs) and s["grading"] == "rules+llm"
    rows = read_jsonl(rd / "solutions.jsonl")
    judged = [r for r in rows if r["meta"]["grade"]["detail"].get("judge_called")]
    undecided = [r for r in rows if r["meta"]["grade"]["detail"].get("rules") is None]
    assert judged and {r["id"] for r in judged} == {r["id"] for r in undecided}
    # one judge call per distinct undecided (problem, text): samples with the same text share it
    assert len(judge_bodies) == len({(r["problem_id"], r["text"]) for r in judged})
    calls = read_jsonl(rd / "calls.jsonl")
    assert sum(c["role"] == "judge" for c in calls) == len(judge_bodies) == s["n_judge_calls"]
    assert s["judge_tokens"] > 0 and s["solver_tokens"] > 0
    # the judge's key never reaches the solver or the config
    assert "sk-judge-secret" not in json.dumps(solver_bodies) and "sk-judge-secret" not in (rd / "config.json").read_text()


def test_llm_grading_judges_every_answer(tmp_path):
    rd, _, judge_bodies = _run(tmp_path, "llm", grading="llm")
    rows = read_jsonl(rd / "solutions.jsonl")
    assert all(r["meta"]["grade"]["detail"].get("judge_called") for r in rows)
    assert len(judge_bodies) == len({(r["problem_id"], r["text"]) for r in rows})


def test_regrade_changes_grades_without_generation_requests(tmp_path):
    with FakeOpenAIServer(solver) as s:
        rd = asyncio.run(experiment("imobench", model="solver", base_url=s.url, n=2, turns=0, reflection="none",
                                    max_tokens=32, run_dir=tmp_path / "r", progress=False, cache=False))
        before = json.loads((rd / "summary.json").read_text())
        n_solver = s.requests
        generate_rows = sum(c["role"] == "generate" for c in read_jsonl(rd / "calls.jsonl"))
        with FakeOpenAIServer(judge) as j:
            after = asyncio.run(regrade(rd, judge_model="judge", judge_base_url=j.url, cache=False))
        assert s.requests == n_solver  # no generation request at all
    assert before["n_ungraded"] > 0 and after["n_ungraded"] == 0
    assert after["n_graded"] == before["n_graded"] + before["n_ungraded"]
    calls = read_jsonl(rd / "calls.jsonl")
    assert sum(c["role"] == "generate" for c in calls) == generate_rows   # the ledger agrees: no generation call
    assert sum(c["role"] == "judge" for c in calls) == after["n_judge_calls"] > 0
    cfg = json.loads((rd / "config.json").read_text())
    assert cfg["grading"] == "rules+llm" and cfg["regraded"][0]["grading"] == "rules"


def test_run_notebook_takes_the_judge_as_parameters(tmp_path):
    out = tmp_path / "imo.ipynb"
    with FakeOpenAIServer(solver) as s, FakeOpenAIServer(judge) as j:
        p = subprocess.run([sys.executable, "-m", "papermill", "nbs/run_imobench.ipynb", str(out), "-p", "model", "solver",
                            "-p", "base_url", s.url, "-p", "judge_model", "judge", "-p", "judge_base_url", j.url,
                            "-p", "grading", "rules+llm", "-p", "data_path", "samples", "-y", "limit: null", "-p", "n", "2", "-p", "turns", "0",
                            "-p", "reflection", "none", "-p", "run_dir", str(tmp_path / "run")],
                           cwd=ROOT, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "TTS_CACHE": str(tmp_path / "cache.sqlite")})  # a fresh cache: real requests
        assert p.returncode == 0, p.stderr[-3000:]
        assert j.requests > 0
    s_ = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s_["n_ungraded"] == 0 and s_["grading"] == "rules+llm"
    assert (tmp_path / "run" / "report.html").exists()

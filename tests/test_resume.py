"""Resume: a run killed with SIGKILL mid-way and restarted ends with the same sample bank rows as an uninterrupted run."""
import hashlib, json, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from tts_nb.testing import FakeOpenAIServer

def respond(messages, params, index):
    "Deterministic answers that depend on the prompt, the sample index and the seed, like a seeded server."
    h = hashlib.sha256(json.dumps([messages, params.get("seed"), index]).encode()).hexdigest()
    return f"Working... the result is \\boxed{{{int(h[:6], 16) % 4}}}"

SCRIPT = """
import asyncio, sys
from tts_nb.llm import LLM
from tts_nb.pipeline import run_experiment
from tts_nb.benchmarks import load_benchmark
url, run_dir, cache = sys.argv[1:4]
llm = LLM("fake", base_url=url, cache=cache)
problems = load_benchmark("imobench", limit=12)
asyncio.run(run_experiment(problems, llm, run_dir, n=3, turns=2, reflection="no_feedback", aggregation="voting",
                           seed=5, max_in_flight=2, progress=False, max_tokens=64))
"""

def start(url, run_dir, cache):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, url, str(run_dir), str(cache)], stderr=subprocess.PIPE, text=True)

def _timeless(x):
    "A row without its timings (seconds spent grading or executing differ between two identical runs)."
    if isinstance(x, dict): return {k: _timeless(v) for k, v in x.items() if k != "seconds"}
    if isinstance(x, list): return [_timeless(v) for v in x]
    return x

def row_set(run_dir):
    return {json.dumps(_timeless(json.loads(l)), sort_keys=True) for l in (Path(run_dir)/"solutions.jsonl").read_text().splitlines()}

def finished(run_dir):
    p = Path(run_dir)/"solutions.jsonl"
    return sum('"role": "aggregate"' in l for l in p.read_text().splitlines()) if p.exists() else 0

def test_sigkill_then_resume_gives_the_same_rows(tmp_path):
    with FakeOpenAIServer(respond=respond, latency=0.03) as srv:
        a = start(srv.url, tmp_path/"a", tmp_path/"a.sqlite")
        assert a.wait(300) == 0, a.stderr.read()
        b = start(srv.url, tmp_path/"b", tmp_path/"b.sqlite")
        deadline = time.time() + 120
        while finished(tmp_path/"b") < 3 and time.time() < deadline and b.poll() is None: time.sleep(0.05)
        assert b.poll() is None, "run finished before it could be killed"
        os.kill(b.pid, signal.SIGKILL); b.wait()
        killed_at = finished(tmp_path/"b")
        assert 3 <= killed_at < 12
        sent_before = srv.requests
        b2 = start(srv.url, tmp_path/"b", tmp_path/"b.sqlite")
        assert b2.wait(300) == 0, b2.stderr.read()
    assert row_set(tmp_path/"b") == row_set(tmp_path/"a")
    assert len(row_set(tmp_path/"a")) == len((tmp_path/"a"/"solutions.jsonl").read_text().splitlines())   # no duplicates
    summary = json.loads((tmp_path/"b"/"summary.json").read_text())
    assert summary["complete"] and summary["n_failed"] == 0
    calls = [json.loads(l) for l in (tmp_path/"b"/"calls.jsonl").read_text().splitlines()]
    assert {c["problem_id"] for c in calls} == {json.loads(r)["problem_id"] for r in row_set(tmp_path/"b")}

def test_changed_config_is_refused(tmp_path):
    with FakeOpenAIServer(respond=respond) as srv:
        a = start(srv.url, tmp_path/"a", tmp_path/"a.sqlite"); assert a.wait(300) == 0, a.stderr.read()
        script = SCRIPT.replace("n=3", "n=4")
        p = subprocess.run([sys.executable, "-c", script, srv.url, str(tmp_path/"a"), str(tmp_path/"a.sqlite")], capture_output=True, text=True)
    assert p.returncode != 0 and "different config (n: 3 -> 4)" in p.stderr and "use a new run_dir" in p.stderr

def test_failed_problems_are_recorded_and_the_run_goes_on(tmp_path):
    with FakeOpenAIServer(respond=respond, faults={"500": 1.0}) as down:
        script = SCRIPT.replace('LLM("fake", base_url=url, cache=cache)', 'LLM("fake", base_url=url, cache=cache, max_retries=0)')
        p = subprocess.run([sys.executable, "-c", script, down.url, str(tmp_path/"c"), str(tmp_path/"c.sqlite")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(l) for l in (tmp_path/"c"/"solutions.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(r["role"] == "failed" and "500" in r["meta"]["error"] for r in rows)
    summary = json.loads((tmp_path/"c"/"summary.json").read_text())
    assert summary["n_failed"] == 12 and not summary["complete"]

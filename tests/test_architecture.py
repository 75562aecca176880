"""The package's shape: no import cycles among tts_nb modules (imports inside functions included), no private names
imported across modules, and every extension point is a registry a user can add to with one decorated definition."""
import ast, asyncio, pathlib
import pytest

PKG = pathlib.Path(__file__).resolve().parent.parent / "tts_nb"
MODULES = sorted(p.stem for p in PKG.glob("*.py") if not p.stem.startswith("_"))


def _imports(mod: str):
    "(imported tts_nb module, names) for every import in `mod`, at any depth."
    tree = ast.parse((PKG / f"{mod}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module: yield node.module.split(".")[0], [a.name for a in node.names]
            elif node.level == 1: yield from ((a.name, []) for a in node.names)          # from . import x
            elif node.module and node.module.startswith("tts_nb."): yield node.module.split(".")[1], [a.name for a in node.names]
            elif node.module == "tts_nb": yield from ((a.name, []) for a in node.names)
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("tts_nb."): yield a.name.split(".")[1], []


GRAPH = {m: {dep for dep, _ in _imports(m) if dep in MODULES and dep != m} for m in MODULES}


def test_no_import_cycles():
    state = {}
    def visit(m, path):
        if state.get(m) == "done": return
        assert state.get(m) != "active", f"import cycle: {' -> '.join(path + [m])}"
        state[m] = "active"
        for d in sorted(GRAPH[m]): visit(d, path + [m])
        state[m] = "done"
    for m in MODULES: visit(m, [])


@pytest.mark.parametrize("mod", MODULES)
def test_no_private_imports_across_modules(mod):
    private = [(dep, n) for dep, names in _imports(mod) for n in names if n.startswith("_") and dep in MODULES]
    assert not private, f"{mod} imports private names {private}"


def test_user_methods_register_and_run_against_a_real_server(tmp_path):
    "An aggregation, a reflection, a pattern and a benchmark, each one decorated definition, run through `experiment`."
    from tts_nb.aggregation import aggregator, AGGREGATIONS
    from tts_nb.reflection import reflector, REFLECTIONS
    from tts_nb.pipeline import pattern, PATTERNS, experiment
    from tts_nb.benchmarks import benchmark, BENCHMARKS, Problem
    from tts_nb.testing import FakeOpenAIServer
    from tts_nb.bank import read_jsonl

    @aggregator("longest_answer_test")
    async def longest(calls, sols, rng, *, at_least: int = 0):
        return max(sols, key=lambda s: len(s.text)), {"at_least": at_least}

    @reflector("shout_test", temperature=0.3)
    async def shout(calls, sol, *, volume: int = 1):
        c = await calls.ask("no_feedback", "reflect", solution=sol.text)
        return c.text + "!" * volume, {"volume": volume}

    @pattern("twice_test")
    async def twice(steps, *, rounds: int = 1):
        pop = await steps.generate()
        for t in range(rounds): pop = [await steps.reflect(s, turn=t + 1) for s in pop]
        first = await steps.generate()
        pop = first
        for t in range(rounds): pop = [await steps.reflect(s, turn=t + 1) for s in pop]
        return first + pop + [await steps.aggregate(pop, turn=rounds)]

    @benchmark("sums_test", domain="math")
    def load_sums(path=None, size: int = 2):
        return [Problem(f"s{i}", "math", f"What is {i} + {i}?", str(2 * i)) for i in range(size)]

    def respond(msgs, params, i): return "So the answer is \\boxed{2}."
    try:
        with FakeOpenAIServer(respond) as srv:
            rd = asyncio.run(experiment("sums_test", model="fake", base_url=srv.url, data_path="hub", size=3, n=2, turns=1,
                                        pattern="twice_test", reflection="shout_test", aggregation="longest_answer_test",
                                        at_least=5, volume=2, rounds=1, max_tokens=16, run_dir=tmp_path / "run",
                                        progress=False, cache=False))
            bodies = list(srv.bodies)
            with pytest.raises(ValueError, match="unknown keyword"):
                asyncio.run(experiment("sums_test", model="fake", base_url=srv.url, data_path="hub", n=2, turns=1,
                                       pattern="twice_test", reflection="shout_test", aggregation="longest_answer_test",
                                       judge_api_key_typo="sk-secret", run_dir=tmp_path / "bad", progress=False, cache=False))
            assert len(srv.bodies) == len(bodies)
        rows = read_jsonl(rd / "solutions.jsonl")
        finals = [r for r in rows if r["role"] == "aggregate"]
        assert len(finals) == 3 and all(r["meta"]["aggregation"] == "longest_answer_test" and r["meta"]["at_least"] == 5 for r in finals)
        assert all(r["text"].endswith("!!") for r in rows if r["role"] == "reflect")
        # options never reach the endpoint; only sampling parameters and the messages do
        assert {k for b in bodies for k in b} <= {"model", "messages", "n", "temperature", "max_tokens"}
        assert not any(w in str(b) for b in bodies for w in ("at_least", "volume", "rounds", "sk-secret"))
    finally:
        for reg, name in ((AGGREGATIONS, "longest_answer_test"), (REFLECTIONS, "shout_test"), (PATTERNS, "twice_test")):
            reg.pop(name, None)
        BENCHMARKS.pop("sums_test", None)


def test_a_users_own_method_runs_in_a_run_notebook(tmp_path):
    "A module of the user's with one decorated aggregation, imported by the run notebook (`imports`), selected with -p."
    import json, subprocess, sys
    from tts_nb.testing import FakeOpenAIServer
    from tts_nb.bank import read_jsonl
    plugin = tmp_path / "my_methods.py"
    plugin.write_text('from tts_nb.aggregation import aggregator\n\n'
                      '@aggregator("last_chain_test")\n'
                      'async def last_chain(calls, sols, rng, *, note: str = ""):\n'
                      '    "The last chain\'s solution."\n'
                      '    return sols[-1], {"note": note}\n')
    root = PKG.parent
    with FakeOpenAIServer(lambda m, p, i: f"The answer is \\boxed{{{i}}}.") as srv:
        p = subprocess.run([sys.executable, "-m", "papermill", "nbs/run_imobench.ipynb", str(tmp_path / "out.ipynb"),
                            "-p", "model", "fake", "-p", "base_url", srv.url, "-p", "limit", "2", "-p", "n", "3",
                            "-y", f"imports: [{plugin}]", "-p", "aggregation", "last_chain_test", "-p", "note", "hello",
                            "-p", "run_dir", str(tmp_path / "run")], cwd=root, capture_output=True, text=True, timeout=600)
        bodies = list(srv.bodies)
    assert p.returncode == 0, p.stderr[-3000:]
    finals = [r for r in read_jsonl(tmp_path / "run" / "solutions.jsonl") if r["role"] == "aggregate"]
    assert len(finals) == 2 and all(r["meta"]["aggregation"] == "last_chain_test" and r["meta"]["note"] == "hello"
                                    and r["meta"]["selected"].endswith("t0/c2/generate") for r in finals)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["note"] == "hello"
    assert "hello" not in json.dumps(bodies)

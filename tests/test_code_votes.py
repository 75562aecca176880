"""maj@k on code runs votes over normalized programs (the stored `vote_key`), never over verdict strings."""
import asyncio
from tts_nb.pipeline import run_experiment
from tts_nb.benchmarks import load_samples
from tts_nb.bank import load_run
from tts_nb.analysis import maj_at_k, pass_at_k
from tts_nb.testing import ScriptedLLM

GOOD = "```cpp\n#include <cstdio>\nint main(){long long a,b;scanf(\"%lld %lld\",&a,&b);printf(\"%lld\\n\",a+b);}\n```"
BAD = [GOOD.replace("a+b", e) for e in ("a-b", "a*b", "b-a")]  # three different wrong programs


def test_maj_at_k_on_code_counts_programs_not_verdicts(tmp_path):
    apb = [p for p in load_samples("code") if p.id == "sample-a-plus-b"]
    llm = ScriptedLLM(lambda m, p, i: ([GOOD] + BAD)[i])
    asyncio.run(run_experiment(apb, llm, tmp_path / "run", n=4, turns=0, reflection="none", aggregation="none",
                               config=dict(benchmark="lcb_pro", domain="code"), progress=False))
    run = load_run(tmp_path / "run")
    pop = run.solutions[run.solutions.role == "generate"]
    assert sorted(pop.answer) == ["AC", "WA", "WA", "WA"]           # the stored answer is the verdict...
    assert pop.vote_key.nunique() == 4                              # ...but every program votes for itself
    m = maj_at_k(run).set_index("k").maj_at_k
    assert abs(m[4] - 0.25) < 1e-9                                  # four one-vote classes: a fair tie
    assert abs(pass_at_k(run).set_index("k").pass_at_k[4] - 1.0) < 1e-9

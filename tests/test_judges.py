"""Tests of tts_nb.judges built from the failure classes of issue 11: false accepts, extraction formats, math-verify's
own failures, the grader registry and the three grading modes against a real local OpenAI-compatible server."""
import asyncio, os, re, warnings
from pathlib import Path

import pytest

import tts_nb.judges as J
from tts_nb.benchmarks import Problem
from tts_nb.judges import (GRADERS, Grade, compare_answers, extract_answer_with_rule, grade, math_equiv, rule_tiers,
                           vote_key)
from tts_nb.testing import FakeOpenAIServer

# ---------------------------------------------------------------------------------------------------- false accepts
# (gold, prediction, why): a lenient grader accepts each; ours must say False or None
FALSE_ACCEPTS = [
    ("23", "2 3", "digit groups apart"), ("1234", "12 34", "digit groups apart"), ("6", "2 3", "a space is not a product"),
    ("11/2", "1 1/2", "a mixed number is 3/2"), ("32349", "32, 349", "a list, not a thousands separator"),
    ("32,349", "32, 349", "the strict form is one number"), ("1, 234", "1,234", "the strict form is one number"),
    ("1000", "1 000", "only the strict comma form groups thousands"), ("\\sin 30", "\\sin 30^\\circ", "degrees in an expression"),
    ("\\frac{1}{2}", "\\cos 60^\\circ", "degrees in an expression"), ("\\frac{\\pi}{2}", "90^\\circ", "degrees against radians"),
    ("12", "12 apples and 13 pears", "trailing words"), ("5", "5 \\text{ cm}", "a unit"), ("5", "5 or 6", "a hedge"),
    ("7", "7 \\text{ or } 8", "a hedge"), ("3", "1 3/2", "an improper mixed number"), ("0.5", "0,5", "decimal comma or list"),
    ("1431655764", "1431655765", "one digit"), ("500", "5", "zeros"), ("(0,1]", "[0,1)", "brackets"),
    ("1, 2, 3", "1, 2", "a missing element"), ("\\{1, 2, 3\\}", "\\{1, 3\\}", "a missing element"), ("8", "8, 9", "an extra element"),
    ("(5, 2)", "(2, 5)", "tuples are ordered"), ("p=5,q=2;p=7,q=2", "(5,2),(7,3)", "a wrong solution"),
    ("\\frac{1}{3}", "0.333333", "a rounded decimal"), ("4", "4\\%", "a percent"), ("R-2r", "-r", "case"),
    ("2k+1", "k(2-k)", "k is not the imaginary unit"), ("1+2i", "2i-1", "a sign"), ("x=1, y=2", "2, 1", "which value is x?"),
    ("x=1, y=2", "y=1, x=2", "swapped values"),
]


@pytest.mark.parametrize("gold,pred,why", FALSE_ACCEPTS)
def test_no_false_accept(gold, pred, why):
    assert math_equiv(gold, pred) is not True, why


@pytest.mark.parametrize("gold,pred,want", [
    ("23", "2 3", None), ("1234", "12 34", None), ("11/2", "1 1/2", False), ("32349", "32, 349", False),
    ("\\sin 30", "\\sin 30^\\circ", None), ("12", "12 apples and 13 pears", None), ("1431655764", "1431655765", False),
    ("500", "5", False), ("(0,1]", "[0,1)", False), ("1, 2, 3", "1, 2", False)])
def test_issue_verdicts(gold, pred, want):
    assert math_equiv(gold, pred) is want


def test_issue_response_with_words_is_not_accepted():
    "The full response of the issue: extracted as a phrase with words, then undecided."
    g = asyncio.run(grade(Problem("w", "math", "", "12"), "The answer is 12 apples and 13 pears"))
    assert (g.correct, g.method) == (None, "words")


# ---------------------------------------------------------------------------------------------------- true equalities
@pytest.mark.parametrize("gold,pred", [
    ("1.5", "1 1/2"), ("\\frac{3}{2}", "1\\frac{1}{2}"), ("0.1, 4", ".1, 4.0"), ("1+2i", "i(2-i)"),
    ("p=5,q=2;p=7,q=2", "(5,2),(7,2)"), ("(5,2),(7,2)", "p=7,q=2;p=5,q=2"), ("(p,q)=(5,2),(7,2)", "\\{(7,2),(5,2)\\}"),
    ("1000", "1,000"), ("1234567", "1,234,567"), ("1.5", "1{,}5"), ("90", "90^\\circ"), ("\\{30, 60\\}", "\\{60^\\circ, 30^\\circ\\}"),
    ("\\sin 30^\\circ", "\\sin 30°"), ("x=1, x=2", "2, 1"), ("\\frac{1}{2}", "\\frac 1 2"), ("3", "\\log_2 8"), ("2", "2.0")])
def test_true_equal(gold, pred):
    assert math_equiv(gold, pred) is True


def test_ambiguous_tuple_order_is_undecided():
    assert math_equiv("q=5,p=2", "(5, 2)") is None          # names out of alphabetical order: which order?
    assert math_equiv("q=5,p=2;q=7,p=2", "(5,2),(7,2)") is None
    assert math_equiv("p=5,q=2;p=7,q=2", "(2,5),(2,7)") is False  # alphabetical names: (2,5) says p=2


# ---------------------------------------------------------------------------------------------------- extraction
@pytest.mark.parametrize("text,answer,rule", [
    ("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}", "final_answer"),
    ("Final Answer: The final answer is $3.5$. I hope it is correct.", "3.5", "final_answer"),
    ("\\boxed{1}, \\boxed{2}", "1, 2", "boxed"),
    ("So $\\boxed{1}$ and $\\boxed{2}$ and $\\boxed{3}$.", "1, 2, 3", "boxed"),
    ("We get $x = \\boxed{-1}$ and $x = \\boxed{1}$.", "x = -1, x = 1", "boxed"),
    ("Tried \\boxed{4}. That is wrong; recomputing gives \\boxed{5}.", "5", "boxed"),
    ("\\boxed{\\frac{a}{b^{2}}}", "\\frac{a}{b^{2}}", "boxed"),
    ("\\boxed{\\left\\{1, \\{2\\}\\right\\}}", "\\left\\{1, \\{2\\}\\right\\}", "boxed"),
    ("Thus the answer is 3.5. Done.", "3.5", "answer_is"),
    ("So the answer is $n = 5$. Indeed.", "n = 5", "answer_is"),
    ("**Answer:** 7", "7", "answer_label"),
    ("Reasoning...\n\n**Answer:** $x^2+1$", "x^2+1", "answer_label"),
    ("Final answer:\n\\[\n  (0, 1]\n\\]", "(0, 1]", "final_answer"),
    ("Hence\n\\[\n x = 5\n\\]\n", "x = 5", "last_display"),
    ("Hence\n$$\n42\n$$", "42", "last_display"),
    ("Therefore $x \\geq 5$ is the solution", "x \\geq 5", "last_sentence"),
    ("Lots of work\n\n  42  \n", "42", "last_line"),
])
def test_extraction_formats(text, answer, rule):
    assert tuple(extract_answer_with_rule(text)) == (answer, rule)


@pytest.mark.parametrize("text", ["I could not solve this problem.", "We get $a=1$ and then $b=2$ in the end.", "", "   \n"])
def test_never_a_sentence(text):
    assert extract_answer_with_rule(text) == (None, None)


def test_guesses_do_not_vote():
    p = Problem("m", "math", "", "5")
    assert vote_key(p, "so \\boxed{5}") == "5"
    assert vote_key(p, "Lots of work.\n\n5") is None
    assert vote_key(p, "Therefore $x = 5$ is it.") is None


# ---------------------------------------------------------------------------------------------------- math-verify failures
def test_math_verify_own_timeout_is_undecided(monkeypatch):
    "A pair that makes math-verify time out inside its own deadline (1 s here) is None, not False, and is not cached."
    monkeypatch.setenv("TTS_MATH_VERIFY_OWN_TIMEOUT", "1")
    pool = J.MathVerifyPool(workers=1)
    try:
        g, p = "2^{2^{2^{2^{2}}}}", "3^{3^{3^{3}}}"
        assert pool.call(g, p, timeout=60) == "timeout"
        monkeypatch.setattr(J, "_POOL", pool)
        J._compare.cache_clear()
        assert compare_answers(g, p) == J.Comparison(None, "timeout")
        assert J._compare.cache_info().currsize == 0
        assert compare_answers("x^2+x^2", "2x^2") == J.Comparison(True, "math_verify")   # the worker still works
    finally:
        pool.close(); J._compare.cache_clear()


def test_imaginary_unit_only_when_i_is_the_only_symbol():
    assert J._mv_call("1+2i", "i(2-i)") is True
    assert J._mv_call("-1", "i^2") is True
    assert J._mv_call("2k+1", "k(2-k)") is False
    assert J._mv_call("i+j", "ij") is False


# ---------------------------------------------------------------------------------------------------- registry
def test_registry_and_dispatch():
    assert set(GRADERS) >= {"math", "science_qa", "code"}
    assert all(g.domain == d for d, g in GRADERS.items())
    mcq = Problem("q", "science_qa", "", "F", choices=list("abcdef"))
    assert asyncio.run(grade(mcq, "Answer: f")) == Grade(True, "F", "choice", dict(grading="rules", judge_called=False))
    assert vote_key(mcq, "Answer: f") == "F" and vote_key(mcq, "Answer: G") is None
    code = Problem("c", "code", "", None)
    assert vote_key(code, "```cpp\n#include <x>\n/* c */ int main() { }\n```") == "#include<x>intmain(){}"
    g = asyncio.run(grade(code, "```cpp\n#include <cstdio>\nint main(){}\n```"))
    assert (g.correct, g.answer, g.method) == (None, None, "no_tests")
    with pytest.raises(ValueError, match="cannot grade domain 'chess'"):
        asyncio.run(grade(type("P", (), {"domain": "chess"})(), "e4"))
    with pytest.raises(ValueError, match="unknown grading 'strict'"):
        asyncio.run(grade(Problem("m", "math", "", "1"), "\\boxed{1}", grading="strict"))
    with pytest.raises(ValueError, match="needs an llm_judge"):
        asyncio.run(grade(Problem("m", "math", "", "1"), "\\boxed{1}", grading="llm"))
    assert isinstance(J.GRADER_VERSION, str) and J.GRADER_VERSION


def test_user_registered_domain():
    @J.grader("upper", vote_key=lambda problem, text: text.upper())
    async def grade_upper(problem, text, *, llm_judge=None, grading="rules"):
        return Grade(text.upper() == problem.answer, text.upper(), "upper", dict(grading=grading))
    try:
        p = type("P", (), {"domain": "upper", "answer": "OK"})()
        assert asyncio.run(grade(p, "ok")) == Grade(True, "OK", "upper", dict(grading="rules"))
        assert vote_key(p, "ok") == "OK"
    finally:
        del GRADERS["upper"]


# ---------------------------------------------------------------------------------------------------- grading modes
JUDGE_REPLY = "<thinking>same value</thinking>\nExtracted answer: x\nVerdict: CORRECT"


@pytest.fixture(scope="module")
def judge_server():
    "A real local OpenAI-compatible server that answers every request as a judge that says CORRECT."
    with FakeOpenAIServer(respond=lambda messages, params, index: JUDGE_REPLY) as server:
        yield server


def _responses():
    "Problems and responses: two decided by rules (one right, one wrong), two undecided (text gold, words), one empty."
    return [(Problem("a", "math", "1/2+1/4?", "$\\frac{3}{4}$"), "So \\boxed{0.75}."),
            (Problem("b", "math", "1/2+1/4?", "$\\frac{3}{4}$"), "So \\boxed{3/5}."),
            (Problem("c", "math", "For which n?", "odd $n$"), "So \\boxed{n \\text{ odd}}."),
            (Problem("d", "math", "How many?", "12"), "The answer is 12 apples and 13 pears."),
            (Problem("e", "math", "How many?", "12"), "")]


@pytest.mark.parametrize("grading,judged,verdicts", [
    ("rules", set(), [True, False, None, None, False]),
    ("rules+llm", {"c", "d"}, [True, False, True, True, False]),
    ("llm", {"a", "b", "c", "d"}, [True, True, True, True, False]),
    (None, {"c", "d"}, [True, False, True, True, False]),   # the default with a judge is rules+llm
])
def test_grading_modes_call_the_judge_as_documented(judge_server, grading, judged, verdicts):
    from tts_nb.llm import LLM
    llm = LLM(model="fake-judge", base_url=judge_server.url, api_key="x", cache=False, max_retries=0)
    before = judge_server.requests
    async def run():
        return [await grade(p, t, llm_judge=llm, grading=grading) for p, t in _responses()]
    grades = asyncio.run(run())
    called = {p.id for (p, _), g in zip(_responses(), grades) if g.detail["judge_called"]}
    assert called == judged
    assert judge_server.requests - before == len(judged)          # one HTTP request per judged answer, no more
    assert [g.correct for g in grades] == verdicts
    assert all((g.method == "llm_judge") == (p.id in judged) for (p, _), g in zip(_responses(), grades))
    if judged:
        assert set(llm.ledger["role"]) == {"judge"}
        body = judge_server.bodies[-1]
        assert body["temperature"] == 0.0 and "Reference answer" in body["messages"][-1]["content"]


def test_judge_verdict_formats():
    assert J.judge_verdict("Verdict: INCORRECT") is False
    assert J.judge_verdict("<thinking>..</thinking>\n\\boxed{Correct}") is True
    assert J.judge_verdict("it looks fine") is None


# ---------------------------------------------------------------------------------------------------- AnswerBench
def _answerbench() -> Path | None:
    root = os.environ.get("TTS_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data"
    f = Path(root) / "imobench" / "answerbench_v2.csv"
    return f if f.exists() else None


@pytest.mark.skipif(_answerbench() is None, reason="AnswerBench v2 CSV not available (set TTS_DATA_DIR)")
def test_answerbench_golds():
    "Rules decide 373 of 400 golds against themselves; an off-by-one or a dropped element is never accepted."
    from tts_nb.benchmarks import load_imobench
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        golds = [q.answer for q in load_imobench(_answerbench())]
    assert len(golds) == 400
    selves = [rule_tiers(g, g) for g in golds]
    assert sum(c.equal is True for c in selves) == 373 and sum(c.equal is None for c in selves) == 27
    wrong = []
    for g in golds:
        c = J.clean_answer(g)
        if (m := list(re.finditer(r"\d+", c))):
            wrong.append((g, c[:m[-1].start()] + str(int(m[-1].group()) + 1) + c[m[-1].end():]))
        kind, n = J.shape(c)
        if n > 1 and kind == "list": wrong.append((g, ", ".join(J.split_top(c)[:-1])))
    accepted = [(g, p) for g, p in wrong if math_equiv(g, p) is True]
    assert accepted == []

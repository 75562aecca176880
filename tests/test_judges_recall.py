"""True-equal (gold, response) pairs for measuring the math grader's recall.

Written for this project in the spirit of other graders' public test suites (math-verify, the Hendrycks MATH and
Minerva normalizers): the same answer spelled differently, and the answer formats real models write. Every pair is a
correct response; a grader should accept it (True) or at worst leave it undecided (None), never call it wrong.
Used by the test below and by bench/bench_grading.py.
"""

def _box(gold: str, pred: str) -> tuple[str, str]:
    "A pair whose response states `pred` in a box."
    return gold, f"Working through the problem carefully, we obtain the result.\n\nTherefore the answer is $\\boxed{{{pred}}}$."

# the same answer, spelled differently (each wrapped in a box)
SPELLINGS = [
    # integers and signs
    ("7", "7"), ("7", "+7"), ("-3", "-3"), ("-3", "- 3"), ("0", "-0"), ("1000", "1,000"), ("1000000", "1,000,000"),
    ("1234567", "1{,}234{,}567"), ("2024", "2024."), ("12", "012"), ("5", "5.0"), ("5", "5.000"), ("100", "10^2"),
    ("1024", "2^{10}"), ("64", "4^3"), ("720", "6!"), ("120", "5!"), ("10", "\\binom{5}{2}"), ("3", "\\sqrt{9}"),
    ("2", "\\sqrt[3]{8}"),
    # fractions and decimals
    ("\\frac{1}{2}", "0.5"), ("\\frac{1}{2}", "1/2"), ("\\frac{1}{2}", "\\dfrac{1}{2}"), ("\\frac{1}{2}", "\\tfrac12"),
    ("\\frac{1}{2}", "\\frac{2}{4}"), ("\\frac{3}{4}", ".75"), ("0.25", "\\frac{1}{4}"), ("2.5", "\\frac{5}{2}"),
    ("-\\frac{2}{3}", "\\frac{-2}{3}"), ("-\\frac{2}{3}", "-2/3"), ("\\frac{7}{3}", "2\\frac{1}{3}"), ("1.5", "1 1/2"),
    ("\\frac{9}{4}", "2\\frac14"), ("0.125", "\\frac{1}{8}"), ("\\frac{1}{3}", "\\frac{2}{6}"), ("3.14", "3.140"),
    ("\\frac{22}{7}", "22/7"), ("\\frac{10}{4}", "2.5"), ("50\\%", "\\frac{1}{2}"), ("25\\%", "0.25"), ("12.5\\%", "\\frac{1}{8}"),
    # radicals, pi, e, logs
    ("\\sqrt{2}", "\\frac{2}{\\sqrt{2}}"), ("2\\sqrt{2}", "\\sqrt{8}"), ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}"),
    ("\\frac{\\sqrt{2}}{2}", "\\frac{1}{\\sqrt{2}}"), ("3\\sqrt{3}", "\\sqrt{27}"), ("\\sqrt{2}-1", "\\frac{1}{1+\\sqrt{2}}"),
    ("\\pi", "\\pi"), ("2\\pi", "\\pi \\cdot 2"), ("\\frac{\\pi}{4}", "\\pi/4"), ("\\frac{\\pi}{3}", "\\frac{1}{3}\\pi"),
    ("4\\pi", "4 \\pi"), ("\\pi r^2", "r^2\\pi"), ("e^2", "e^{2}"), ("\\log_2 8", "3"), ("\\ln 1", "0"),
    ("\\sqrt{5}+1", "1+\\sqrt{5}"), ("\\frac{1+\\sqrt{5}}{2}", "\\frac{\\sqrt{5}+1}{2}"), ("2^{1/2}", "\\sqrt{2}"),
    # algebraic expressions
    ("2x+y", "y+2x"), ("x^2+2x+1", "(x+1)^2"), ("x^2-1", "(x-1)(x+1)"), ("4x", "2x+2x"), ("\\frac{x}{2}", "0.5x"),
    ("n(n+1)/2", "\\frac{n^2+n}{2}"), ("\\frac{n(n+1)}{2}", "\\frac{n^{2}}{2}+\\frac{n}{2}"), ("2^{n+1}", "2 \\cdot 2^n"),
    ("a^2+b^2", "b^2+a^2"), ("3a", "a+a+a"), ("x^{3}", "x^3"), ("\\frac{1}{x}", "x^{-1}"), ("2^{u-2}", "\\frac{2^u}{4}"),
    ("(a+b)^2", "a^2+2ab+b^2"), ("k^2", "k \\cdot k"), ("\\binom{2k}{k}^2", "\\binom{2k}{k}^{2}"), ("\\frac{a}{b}", "a/b"),
    ("2n-1", "-1+2n"), ("n^2", "n \\times n"), ("\\frac{R^2+Rr}{\\sqrt{R^2-2Rr}}", "\\frac{R(R+r)}{\\sqrt{R^2-2Rr}}"),
    # equations and functions
    ("x = 5", "5"), ("5", "x=5"), ("f(x) = x + 3", "f(x)=3+x"), ("f(x) = x + 3", "x+3"), ("y = 2x + 1", "y=1+2x"),
    ("f(x)=x^2", "f(x) = x^{2}"), ("P(x) = -1, P(x) = x + 1", "P(x)=x+1, P(x)=-1"), ("x = 1, x = 2", "1, 2"),
    ("x=-1", "-1"), ("k = 4", "4"),
    # lists and sets (unordered)
    ("1, 2, 3", "3, 2, 1"), ("1, 2", "\\{1, 2\\}"), ("\\{1, 2\\}", "\\{2, 1\\}"), ("2, 3", "3,2"), ("0.1, 4", ".1, 4.0"),
    ("-1, 1", "\\pm 1"), ("\\frac{1}{2}, 2", "2, 0.5"), ("\\{0, 1\\}", "\\{1, 0\\}"), ("1, 4, 9", "9, 4, 1"),
    ("\\sqrt{2}, -\\sqrt{2}", "-\\sqrt{2}, \\sqrt{2}"), ("x=1, x=2", "x = 2, x = 1"),
    # tuples, points, intervals
    ("(5, 2)", "(5,2)"), ("(1, 2, 3)", "(1,2,3)"), ("(0, 1]", "(0,1]"), ("[-1, 3]", "[-1,3]"),
    ("(-\\infty, 0)", "(-\\infty,0)"), ("(-3, \\infty)", "(-3, +\\infty)"), ("(\\frac{1}{2}, 1)", "(0.5, 1)"),
    ("(5,2),(7,2)", "(7,2),(5,2)"), ("p=5,q=2;p=7,q=2", "(5,2),(7,2)"), ("(a, b) = (1, 2)", "a=1, b=2"),
    ("0<c<1", "c \\in (0, 1)"), ("(-\\infty, -4) \\cup (-4, \\infty)", "(-\\infty,-4)\\cup(-4,\\infty)"),
    ("x \\geq 5", "x\\ge 5"), ("[2, \\infty)", "[2,\\infty)"),
    # complex numbers
    ("1+2i", "i(2-i)"), ("1+2i", "2i+1"), ("-1", "i^2"), ("2i", "i+i"), ("3-4i", "(2-i)^2"),
    # angles and degrees
    ("90", "90^\\circ"), ("90", "90°"), ("45", "45^{\\circ}"), ("30, 60", "30^\\circ, 60^\\circ"), ("\\sin 30^\\circ", "\\sin 30°"),
    # LaTeX noise
    ("\\frac{1}{2}", "\\left(\\frac{1}{2}\\right)"), ("12", "\\mathbf{12}"), ("12", "\\text{12}"), ("7", "\\displaystyle 7"),
    ("\\frac{3}{2}", "\\frac {3} {2}"), ("2", "{2}"), ("\\{1,2\\}", "\\left\\{1,2\\right\\}"), ("6", "6\\,"),
]

_MINERVA = "Final Answer: The final answer is ${}$. I hope it is correct."

# the same answer in the formats models write (no box, several boxes, display math, a last sentence)
FORMATS = [
    ("\\frac{1}{2}", "We compute the ratio.\n\n" + _MINERVA.format("\\frac{1}{2}")),
    ("5", "Solving gives $x=5$.\n" + _MINERVA.format("5")),
    ("(5, 2)", "The pair works.\n" + _MINERVA.format("(5,2)")),
    ("3.5", _MINERVA.format("3.5")),
    ("2\\sqrt{2}", "Hence the distance.\n" + _MINERVA.format("2\\sqrt2")),
    ("1, 2", "Both roots check out: $\\boxed{1}$ and $\\boxed{2}$."),
    ("1, 2", "So the answers are \\boxed{1}, \\boxed{2}."),
    ("-1, 1", "The solutions are $x = \\boxed{-1}$ and $x = \\boxed{1}$."),
    ("(1, 2), (3, 4)", "The pairs are \\boxed{(1, 2)} and \\boxed{(3, 4)}."),
    ("2, 3, 5", "$\\boxed{2}$, $\\boxed{3}$, $\\boxed{5}$"),
    ("12", "So the answer is $12$."),
    ("12", "Thus, the answer is 12."),
    ("\\frac{3}{4}", "Therefore, the answer is $\\frac{3}{4}$, as claimed."),
    ("\\sqrt{2}", "I think the answer is \\(\\sqrt{2}\\)."),
    ("7", "Counting the cases we find seven.\n\n**Answer:** 7"),
    ("7", "**Answer:** $7$"),
    ("x^2+1", "Answer: $x^2+1$"),
    ("100", "### Answer\nAnswer: 100"),
    ("\\frac{1}{6}", "**Final Answer**\n\n$\\frac{1}{6}$"),
    ("\\frac{1}{6}", "Final answer:\n\\[\n\\frac{1}{6}\n\\]"),
    ("x = 5", "Putting it together,\n\\[\n x = 5\n\\]"),
    ("42", "All cases are covered, so the total is\n$$\n42\n$$"),
    ("(0, 1]", "The set of values is\n\\[\n(0, 1]\n\\]\n"),
    ("x \\geq 5", "Therefore $x \\geq 5$ is the solution."),
    ("n = 4", "We conclude that $n = 4$ is the only possibility."),
    ("30", "Checking each case, there are 30 such numbers."),
    ("16", "Lots of work here.\n\n16"),
    ("\\frac{5}{12}", "After simplifying we get\n\n$\\frac{5}{12}$"),
    ("1+2i", "The answer is $i(2-i)$."),
    ("1.5", "The answer is $1\\frac{1}{2}$."),
    ("0.1, 4", "The roots are $\\boxed{.1}$ and $\\boxed{4.0}$."),
    ("p=5,q=2;p=7,q=2", "The solutions $(p, q)$ are \\boxed{(5,2),(7,2)}."),
    ("\\frac{\\sqrt{3}}{2}", "The final answer is $\\dfrac{\\sqrt{3}}{2}$."),
    ("8", "By symmetry the answer is $\\boxed{\\boxed{8}}$"),
    ("2", "The answer is \\boxed{2}.\n\n\\boxed{2}"),
]

RECALL_PAIRS = [_box(g, p) for g, p in SPELLINGS] + FORMATS


def test_recall_pairs_are_never_rejected():
    "No correct response of the set is graded wrong, and at least 95% are accepted by the rules alone."
    import asyncio
    from tts_nb.benchmarks import Problem
    from tts_nb.judges import grade
    async def run():
        return [await grade(Problem(f"r{i}", "math", "", g), text) for i, (g, text) in enumerate(RECALL_PAIRS)]
    grades = asyncio.run(run())
    rejected = [(g, t, x.answer, x.method) for (g, t), x in zip(RECALL_PAIRS, grades) if x.correct is False]
    assert rejected == []
    accepted = sum(x.correct is True for x in grades)
    assert accepted >= 0.95 * len(RECALL_PAIRS), (accepted, len(RECALL_PAIRS))
    assert len(RECALL_PAIRS) >= 150

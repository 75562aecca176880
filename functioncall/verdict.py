"""Verdicts: the judge's answer for one submission, with per-test detail; JSON round trip for service mode."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

__all__ = ["STATUSES", "Case", "Verdict", "JudgeError", "excerpt", "clean"]

STATUSES = ("AC", "WA", "TLE", "MLE", "RE", "CE", "OLE")
EXCERPT_CHARS = 1000


class JudgeError(RuntimeError):
    """The judge itself could not judge (broken checker, missing testlib, sandbox failure) — not a verdict."""


_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(s: str | None) -> str | None:
    "Control characters other than newline and tab escaped (ESC -> \\x1b): messages cannot drive a terminal."
    return _CTRL.sub(lambda m: f"\\x{ord(m.group()):02x}", s) if s else s


def excerpt(data: bytes | str | None, limit: int = EXCERPT_CHARS) -> str | None:
    "At most `limit` characters of `data`, marked with `…` when cut."
    if data is None: return None
    s = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else str(data)
    return s if len(s) <= limit else s[: limit - 1] + "…"


@dataclass
class Case:
    "The outcome of one test."
    index: int                     # 1-based test number
    status: str                    # one of STATUSES (never CE)
    time: float = 0.0              # CPU seconds (wall seconds when killed by the wall clock)
    memory_mb: float = 0.0         # peak resident memory
    exit_code: int | None = None
    signal: int | None = None
    message: str = ""              # why it failed: checker message, stderr excerpt, signal name
    input: str | None = None       # excerpts (≤1,000 chars), kept for the first failing test only
    output: str | None = None
    expected: str | None = None


@dataclass
class Verdict:
    "The judge's answer for one submission."
    status: str                    # AC if every test passed, else the status of the first failing test
    passed: int                    # tests accepted
    total: int                     # tests in the problem (or in the requested subset)
    cases: list[Case] = field(default_factory=list)  # one per test run, in order
    compile_log: str = ""
    isolation: str = ""            # "bwrap" | "bwrap-userns" | "namespaces" | "rlimits", + "+cgroup1"/"+cgroup2"

    @property
    def ok(self) -> bool: return self.status == "AC"

    @property
    def first_failure(self) -> Case | None:
        "The first test that was not accepted (None when all passed or compilation failed)."
        return next((c for c in self.cases if c.status != "AC"), None)

    @property
    def time(self) -> float: return max((c.time for c in self.cases), default=0.0)

    @property
    def memory_mb(self) -> float: return max((c.memory_mb for c in self.cases), default=0.0)

    def to_dict(self) -> dict: return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Verdict":
        "Inverse of `to_dict` (unknown keys are ignored, so newer servers stay readable)."
        names = {f.name for f in fields(Case)}
        cases = [Case(**{k: v for k, v in c.items() if k in names}) for c in d.get("cases", [])]
        return cls(status=d["status"], passed=int(d["passed"]), total=int(d["total"]), cases=cases,
                   compile_log=d.get("compile_log", ""), isolation=d.get("isolation", ""))

    def __repr__(self):
        f = self.first_failure
        where = f" first failure: test {f.index} {f.status}" if f else ""
        return f"Verdict({self.status} {self.passed}/{self.total}{where}, isolation={self.isolation})"

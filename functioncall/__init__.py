"""functioncall: a sandboxed judge for generated C++ and Python code (LiveCodeBench Pro semantics).

    from functioncall import judge
    v = judge("print(sum(map(int, input().split())))", "python", [{"input": "1 2", "output": "3"}])
    v.status, v.passed, v.total, v.isolation     # ('AC', 1, 1, 'bwrap')
"""
from .bundle import Bundle, BundleError, parse_memory_limit, parse_time_limit, read_bundle
from .compiler import TestlibMissing
from .judge import OUTPUT_LIMIT_MB, ajudge, ajudge_problem_dir, judge, judge_problem_dir
from .cgroup import setup as cgroup_setup
from .judge import STACK_LIMIT_MB, JudgeCancelled
from .sandbox import SandboxError, cache_dir, isolation_level, sandbox_mode
from .verdict import STATUSES, Case, JudgeError, Verdict

__version__ = "0.1.0"
__all__ = ["judge", "judge_problem_dir", "ajudge", "ajudge_problem_dir", "Verdict", "Case", "STATUSES", "read_bundle",
           "Bundle", "BundleError", "parse_time_limit", "parse_memory_limit", "JudgeError", "SandboxError",
           "TestlibMissing", "OUTPUT_LIMIT_MB", "STACK_LIMIT_MB", "JudgeCancelled", "cache_dir", "isolation_level",
           "sandbox_mode", "cgroup_setup", "JudgeClient"]


def __getattr__(name):
    if name == "JudgeClient":          # lazy: the client pulls in aiohttp
        from .client import JudgeClient
        return JudgeClient
    raise AttributeError(name)

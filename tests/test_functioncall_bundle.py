"""functioncall bundles: the LiveCodeBench Pro problem-directory layout, and the shipped sample problems."""
import json
import re
from pathlib import Path

import pytest

from functioncall import BundleError, parse_memory_limit, parse_time_limit, read_bundle

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples" / "lcb_pro"
EXAMPLE = re.compile(r"### Input\n```\n(.*?)```\n### Output\n```\n(.*?)```", re.S)


@pytest.mark.parametrize("raw,sec", [("1s", 1.0), ("500ms", 0.5), ("2", 2.0), (2, 2.0), (1.5, 1.5), ("2.5s", 2.5),
                                     ("1500 ms", 1.5), ("3 seconds", 3.0)])
def test_time_limits(raw, sec): assert parse_time_limit(raw) == sec


@pytest.mark.parametrize("raw,mb", [("256m", 256), ("1g", 1024), ("262144k", 256), ("512MB", 512), (64, 64),
                                    ("256", 256), ("2GiB", 2048), ("1.5g", 1536)])
def test_memory_limits(raw, mb): assert parse_memory_limit(raw) == mb


@pytest.mark.parametrize("bad", ["fast", "1h", "", True, "-1s"])
def test_bad_time_limit(bad):
    with pytest.raises(BundleError, match="time_limit"): parse_time_limit(bad)


@pytest.mark.parametrize("bad", ["lots", "12q", True])
def test_bad_memory_limit(bad):
    with pytest.raises(BundleError, match="memory_limit"): parse_memory_limit(bad)


def test_sample_bundles():
    ids = sorted(p.name for p in SAMPLES.iterdir() if (p / "config.yaml").exists())
    assert len(ids) >= 5
    bs = {i: read_bundle(SAMPLES / i) for i in ids}
    assert any(b.checker for b in bs.values()) and any(b.type == "interactive" for b in bs.values())
    b = bs["sample-count-inversions"]
    assert (b.type, b.time_limit, b.memory_limit_mb, len(b.tests)) == ("default", 2.0, 256, 7)
    assert b.case_limits == [(1.0, 256)] * 5 + [(1.5, 256)] * 2              # subtask overrides
    b = bs["sample-max-subarray"]
    assert [p.name for p, _ in b.tests] == [f"{i}.in" for i in range(1, 9)]   # numbered across subtasks
    b = bs["sample-guess-number"]
    assert b.type == "interactive" and b.interactor.name == "interactor.cpp" and b.checker is None
    assert bs["sample-proper-divisor"].checker.name == "chk.cc"
    assert [p.name for p, _ in bs["sample-a-plus-b"].tests][:3] == ["1.in", "2.in", "3.in"]   # discovered, numeric order
    for b in bs.values():
        assert all(i.is_file() and a.is_file() for i, a in b.tests)
        if b.checker or b.interactor: assert b"testlib.h" not in (b.checker or b.interactor).read_bytes()


def test_problems_jsonl_matches_the_bundles():
    rows = [json.loads(l) for l in (SAMPLES / "problems.jsonl").read_text().splitlines() if l.strip()]
    assert len(rows) >= 5
    for r in rows:
        assert set(r) >= {"problem_id", "problem_title", "difficulty", "platform", "problem_statement", "link"}
        assert r["difficulty"] in ("easy", "medium", "hard")
        b = read_bundle(SAMPLES / r["problem_id"])                             # the id is the directory name
        st = r["problem_statement"]
        assert "## Input" in st and "## Output" in st
        ex = EXAMPLE.findall(st)
        assert ex, r["problem_id"]
        assert (SAMPLES / "solutions" / f"{r['problem_id']}.cpp").is_file()
        if b.type == "interactive": continue                                  # its example is a transcript
        for (inp, out), (fi, fa) in zip(ex, b.tests):                         # examples are the first tests
            assert (inp, out) == (fi.read_text(), fa.read_text()), r["problem_id"]


def _bundle(tmp_path, config, files=()):
    d = tmp_path / "p"
    (d / "testdata").mkdir(parents=True)
    if config is not None: (d / "config.yaml").write_text(config)
    for f in files: (d / f).write_text("1\n")
    return d


@pytest.mark.parametrize("config,files,msg", [
    (None, (), "no config.yaml"),
    ("type: [", (), "invalid YAML"),
    ("- a\n- b\n", (), "mapping"),
    ("type: batch\n", ("testdata/1.in", "testdata/1.ans"), "type must be"),
    ("type: interactive\n", ("testdata/1.in", "testdata/1.ans"), "without an interactor"),
    ("checker: chk.cc\n", ("testdata/1.in", "testdata/1.ans"), "checker 'chk.cc' not found"),
    ("subtasks:\n  - n_cases: 2\n", ("testdata/1.in", "testdata/1.ans"), "2.in not found"),
    ("subtasks:\n  - cases: [{input: 1.in}]\n", ("testdata/1.in",), "input and output"),
    ("time_limit: soon\n", ("testdata/1.in", "testdata/1.ans"), "time_limit"),
    ("", ("testdata/1.in",), "no answer file"),
    ("", (), "no tests"),
])
def test_bad_bundles(tmp_path, config, files, msg):
    with pytest.raises(BundleError, match=msg): read_bundle(_bundle(tmp_path, config, files))


def test_prefixes_and_default_checker_name(tmp_path):
    d = _bundle(tmp_path, "input_prefix: t\ninput_suffix: .txt\noutput_prefix: t\noutput_suffix: .out\n"
                          "subtasks:\n  - n_cases: 2\n    memory_limit: 1g\n",
                ("testdata/t1.txt", "testdata/t1.out", "testdata/t2.txt", "testdata/t2.out", "chk.cc"))
    b = read_bundle(d)
    assert [(i.name, a.name) for i, a in b.tests] == [("t1.txt", "t1.out"), ("t2.txt", "t2.out")]
    assert b.checker.name == "chk.cc" and b.case_limits == [(1.0, 1024)] * 2


@pytest.mark.parametrize("config,setup,msg", [
    ("checker: ../outside.cc\n", None, "relative path inside"),
    ("checker: /etc/passwd\n", None, "relative path inside"),
    ("type: interactive\ninteractor: sub/../../outside.cc\n", None, "relative path inside"),
    ("", "chk.cc", "outside the problem directory"),                                 # a symlink leaving the bundle
    ("checker: link.cc\n", "link.cc", "outside the problem directory"),
    ("subtasks:\n  - cases: [{input: ../../outside.cc, output: 1.ans}]\n", None, "inside testdata"),
    ("subtasks:\n  - cases: [{input: /etc/passwd, output: 1.ans}]\n", None, "inside testdata"),
])
def test_bundle_paths_stay_inside_the_bundle(tmp_path, config, setup, msg):
    (tmp_path / "outside.cc").write_text("int main() {}\n")
    d = _bundle(tmp_path, config, ("testdata/1.in", "testdata/1.ans"))
    if setup: (d / setup).symlink_to(tmp_path / "outside.cc")
    with pytest.raises(BundleError, match=msg): read_bundle(d)

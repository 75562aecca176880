"""The card's command line works: `papermill nbs/run_lcb.ipynb out.ipynb -p method pairwise` (here with a smaller
population, so the league of n(n-1) comparisons stays quick on the embedded model)."""
import json, subprocess, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def test_run_lcb_with_pairwise_as_written(tmp_path):
    out = tmp_path/"out.ipynb"
    p = subprocess.run([sys.executable, "-m", "papermill", "nbs/run_lcb.ipynb", str(out), "-p", "method", "pairwise",
                        "-p", "n", "3", "-p", "limit", "2", "-p", "turns", "0", "-p", "reflection", "none"],
                       cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    nb = json.loads(out.read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected and 'method = "pairwise"' in "".join(injected[0]["source"])
    run_dir = next(Path(REPO/"runs").glob("lcb_pro-*-pairwise-*"))
    config = json.loads((run_dir/"config.json").read_text())
    assert config["aggregation"] == "pairwise" and config["benchmark"] == "lcb_pro"
    finals = [json.loads(l) for l in (run_dir/"solutions.jsonl").read_text().splitlines()]
    finals = [r for r in finals if r["role"] == "aggregate"]
    assert len(finals) == 2 and all(r["meta"]["aggregation"] == "pairwise" and r["meta"]["comparisons"] for r in finals)

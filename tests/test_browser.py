"""The user-facing outputs in a real browser: JupyterLab running `compare.ipynb`, and reports opened offline.

Headless Chromium is Debian's `chromium` package driven by Playwright from PyPI (no browser download). Select these
tests with `pytest -m browser`, skip them with `-m "not browser"`. With `TTS_SCREENSHOTS=1` (or a directory) the
tests save screenshots, by default under `bench/screenshots/`.
"""
import importlib.util, os, re, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import nbclient, nbformat, pytest

from tts_nb.report import PLOTLY_MIME, external_refs, run_report
from tts_nb.testing import synthetic_bank

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("TTS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
LOCAL = ("file:", "data:", "blob:", "about:")


def _shots() -> Path | None:
    "Where to save screenshots: $TTS_SCREENSHOTS (1: bench/screenshots), or None."
    v = os.environ.get("TTS_SCREENSHOTS", "")
    if not v or v.lower() in ("0", "false", "no"): return None
    d = ROOT/"bench"/"screenshots" if v.lower() in ("1", "true", "yes") else Path(v)
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def browser():
    "Headless Chromium; skipped where it is not installed (a failure in CI, where .ci/install.sh installs it)."
    missing = [w for w, ok in [("chromium", Path(CHROMIUM).exists()),
                               ("playwright", importlib.util.find_spec("playwright") is not None)] if not ok]
    if missing:
        msg = f"browser tests need {' and '.join(missing)} (bash .ci/install.sh installs them)"
        if os.environ.get("CI"): pytest.fail(msg)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _runs(d: Path) -> Path:
    "Three small synthetic sample banks that differ in the aggregation and the number of turns."
    for name, agg, turns in [("imobench-local-rta-self_evaluation-voting-n4-t1-0a1b2c3d", "voting", 1),
                             ("imobench-local-rta-self_evaluation-pairwise-n4-t1-4e5f6a7b", "pairwise", 1),
                             ("imobench-local-rta-none-voting-n4-t0-8c9d0e1f", "voting", 0)]:
        synthetic_bank(d/name, n_problems=12, n=4, turns=turns, aggregation=agg)
    return d


# --- JupyterLab -------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _stop(proc):
    "Stop the server and the kernels it started (they share its session): SIGTERM, then SIGKILL after 20 s."
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try: os.killpg(proc.pid, sig)
        except ProcessLookupError: pass
        try: proc.wait(wait); break
        except subprocess.TimeoutExpired: continue
    try: os.killpg(proc.pid, signal.SIGKILL)     # a kernel that outlived the server
    except ProcessLookupError: pass


@pytest.fixture
def lab(tmp_path):
    "JupyterLab on loopback serving a copy of compare.ipynb with synthetic runs; stopped (with its kernels) afterwards."
    root = tmp_path/"lab"; root.mkdir()
    shutil.copy(ROOT/"nbs"/"compare.ipynb", root)
    runs = _runs(root/"runs")
    news = tmp_path/"settings"/"@jupyterlab"/"apputils-extension"/"notification.jupyterlab-settings"
    news.parent.mkdir(parents=True); news.write_text('{"fetchNews": "false"}')  # no "get Jupyter news?" toast
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "TTS_RUNS": str(runs), "JUPYTER_RUNTIME_DIR": str(tmp_path/"runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path/"settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path/"workspaces")}
    log = open(tmp_path/"jupyterlab.log", "w")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           # nothing from the network: no news, no update check, no extension manager queries
           "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly", *(["--allow-root"] if os.geteuid() == 0 else [])]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            if proc.poll() is not None: pytest.fail(f"JupyterLab exited: {(tmp_path/'jupyterlab.log').read_text()[-2000:]}")
            try:
                if urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).status == 200: break
            except OSError: time.sleep(0.5)
        else: pytest.fail("JupyterLab did not answer within 60 s")
        yield url, token
    finally:
        _stop(proc)
        log.close()


def _title(page) -> str:
    return page.locator(".js-plotly-plot .gtitle").first.text_content()


def test_compare_in_jupyterlab(browser, lab):
    "Run all cells of compare.ipynb in JupyterLab; a plot renders; the metric widget redraws it."
    url, token = lab
    page = browser.new_page(viewport=dict(width=1400, height=1000))
    page.set_default_timeout(90_000)
    page.goto(f"{url}/lab/tree/compare.ipynb?token={token}")
    page.get_by_text(re.compile(r"Python 3.*\| Idle")).first.wait_for()          # notebook loaded, kernel up
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    # done when the last cell's table (final accuracy, with labels) is there: two tables name the pairwise run
    error = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Traceback")
    page.locator(".jp-RenderedHTMLCommon table", has_text="aggregation=pairwise").nth(1).or_(error.first).wait_for(state="attached")
    assert error.count() == 0, error.first.text_content()
    plot = page.locator(".jp-OutputArea-output .js-plotly-plot").first
    plot.locator(".main-svg").first.wait_for()
    page.wait_for_function("document.querySelector('.js-plotly-plot .gtitle')?.textContent.startsWith('Accuracy against')")
    before = dict(title=_title(page), traces=plot.locator(".scatterlayer .trace").count())
    assert before["traces"] > 0 and before["title"] == "Accuracy against tokens per problem", before
    cell = page.locator(".jp-Cell", has=page.locator(".widget-dropdown select"))
    if shots := _shots(): cell.scroll_into_view_if_needed(); cell.screenshot(path=str(shots/"compare_before.png"))

    page.locator(".widget-dropdown select").select_option("accuracy per turn")
    page.wait_for_function("document.querySelector('.js-plotly-plot .gtitle')?.textContent === 'Accuracy per turn'")
    after = dict(title=_title(page), traces=plot.locator(".scatterlayer .trace").count(),
                 xtitle=plot.locator(".xtitle").first.text_content())
    assert after["title"] != before["title"] and after["traces"] > 0 and after["xtitle"] == "turn", (before, after)
    if shots: cell.screenshot(path=str(shots/"compare_after.png"))
    page.close()


# --- reports offline --------------------------------------------------------------------------------------------

def _analysis_notebook(path: Path, runs: Path) -> nbformat.NotebookNode:
    "Execute a small analysis notebook the way papermill would (figures as JSON plus the CDN fallback) and save it."
    t0 = next(p for p in sorted(runs.iterdir()) if "-t0-" in p.name)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Study\n\nAccuracy $a$ per turn and against $n$."),
        nbformat.v4.new_code_cell("import plotly.io as pio\nfrom tts_nb import plots\n"
                                  "pio.renderers.default = 'plotly_mimetype+notebook_connected'"),
        nbformat.v4.new_code_cell(f"plots.plot_accuracy_vs_turn({str(runs)!r})"),
        nbformat.v4.new_code_cell(f"plots.plot_accuracy_vs_n({str(runs)!r})"),
        nbformat.v4.new_code_cell(f"plots.plot_accuracy_vs_tokens({str(runs)!r}).show()"),
        nbformat.v4.new_code_cell(f"plots.plot_transitions({str(t0)!r})"),     # an empty figure that says why
        nbformat.v4.new_code_cell(f"plots.run_labels({str(runs)!r})")])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    nbformat.write(nb, path)
    return nb


def _open_offline(browser, html: Path, n_figures: int, shot: str = None):
    "Open `html` with every non-file request aborted; wait for `n_figures` drawn figures; return (drawn, fetched)."
    page, fetched = browser.new_page(viewport=dict(width=1200, height=900)), []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(LOCAL)
               else (fetched.append(route.request.url), route.abort()))
    page.on("request", lambda r: None if r.url.startswith(LOCAL) or r.url in fetched else fetched.append(r.url))
    page.goto(html.as_uri())
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_figures}", timeout=30_000)
    drawn = page.locator(".plotly-graph-div.js-plotly-plot", has=page.locator(".main-svg")).count()
    if shot and (shots := _shots()): page.screenshot(path=str(shots/shot), full_page=True)
    page.close()
    return drawn, fetched


def test_reports_render_offline(browser, tmp_path):
    "A notebook report (made by the command) and a run report draw every figure with the network blocked."
    runs = _runs(tmp_path/"runs")
    nb = _analysis_notebook(tmp_path/"study.ipynb", runs)
    n_figures = sum(PLOTLY_MIME in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert n_figures == 4
    res = subprocess.run([sys.executable, "-m", "tts_nb.report", str(tmp_path/"study.ipynb")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    html = tmp_path/"study.html"
    assert external_refs(html.read_text()) == [] and "4 figures" in res.stdout, res.stdout
    assert _open_offline(browser, html, n_figures, "report_notebook.png") == (n_figures, [])

    report = run_report(runs, tmp_path/"runs.html")
    assert _open_offline(browser, report, 5, "report_runs.png") == (5, [])

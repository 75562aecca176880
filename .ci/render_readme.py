"""Render README.md from nbs/index.ipynb with nbconvert (nbdev_readme needs Quarto, which this project does not assume)."""
import re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

def render(nb_path="nbs/index.ipynb", out="README.md"):
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if not re.search(r"^#\|\s*hide", c.source, re.M)]
    for c in nb.cells:
        if c.cell_type != "code": continue
        c.source = re.sub(r"^#\|.*\n?", "", c.source, flags=re.M)
        for o in c.get("outputs", []):   # plain text reads better in a README than pandas' HTML
            if "text/plain" in o.get("data", {}): o["data"].pop("text/html", None)
    body, _ = MarkdownExporter().from_notebook_node(nb)
    body = "<!-- generated from nbs/index.ipynb by .ci/render_readme.py; edit the notebook, not this file -->\n\n" + body
    Path(out).write_text(re.sub(r"\n{3,}", "\n\n", body))

if __name__ == "__main__": render(*sys.argv[1:])

"""The run widget links to the run page through Jupyter, under a hub-like base_url.

JupyterLab under ``/user/alice/`` (Chromium, per /work/shared/recipes/notebook-testing.md:
wait for an idle kernel with a name before ``runmenu:run-all``; off-screen cells are found
with ``state="attached"``). A notebook starts a run; the widget's "open" link must become
``/user/alice/nbtrack/runs/<entity>/<project>/<id>`` (computed in the browser from Lab's
base URL after the extension answered), ``%track_status`` must print the same page as an
absolute URL, and the link must open the run page with its chart.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jupyter_helpers import (
    BASE_URL,
    CHROMIUM,
    CHROMIUM_FLAGS,
    TOKEN,
    run_all,
    start_jupyter,
    wait_kernel_ready,
)

pytestmark = pytest.mark.timeout(300)

ALLOWED_PAGE_ERRORS = ("reading 'schema'",)
CELLS = [
    "%load_ext nbtrack\nimport nbtrack",
    "run = nbtrack.init(project='links', name='linked')\n"
    "for i in range(40):\n    run.log({'x': i * 0.5})\nrun.finish(quiet=True)",
    "%track_status",
    "print('IDS', run.entity, run.project, run.id)",
]


def test_widget_links_through_jupyter(nbtrack_home: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists()
    with start_jupyter(tmp_path / "lab", nbtrack_home, app="jupyterlab") as jup:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, jup.home / "links.ipynb")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
            errors: list[str] = []
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(f"{jup.base}lab/tree/links.ipynb?token={TOKEN}",
                          wait_until="domcontentloaded", timeout=60_000)
                page.locator(".jp-Notebook").first.wait_for(state="attached", timeout=60_000)
                wait_kernel_ready(page)
                run_all(page)
                out = page.locator(".jp-OutputArea-output", has_text="IDS").first
                out.wait_for(state="attached", timeout=90_000)
                entity, project, run_id = str(out.text_content()).split("IDS", 1)[1].split()
                expected = f"{BASE_URL}nbtrack/runs/{entity}/{project}/{run_id}"
                link = page.locator(".nbtrack-link[data-pages=jupyter]").first
                link.wait_for(state="attached", timeout=30_000)
                assert link.get_attribute("href") == expected
                status = page.locator(".jp-OutputArea-output", has_text="page:").first
                status.wait_for(state="attached", timeout=30_000)
                assert f"page:      {jup.origin}{expected}" in str(status.text_content())
                page.goto(jup.origin + expected)
                page.wait_for_selector(".nbt-chart[data-key=x][data-drawn='40']", timeout=30_000)
            finally:
                browser.close()
            unexpected = [e for e in errors if not any(a in e for a in ALLOWED_PAGE_ERRORS)]
            assert not unexpected, unexpected

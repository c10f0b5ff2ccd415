"""The run widget links to the run page through Jupyter, under a hub-like base_url.

JupyterLab under ``/user/alice/`` (Chromium set up by ``tests/helpers/browser.py``, per
/work/shared/recipes/notebook-testing.md). A notebook starts a run; the widget's "open"
link must become
``/user/alice/nbtrack/runs/<entity>/<project>/<id>`` (computed in the browser from Lab's
base URL after the extension answered), ``%track_status`` must print the same page as an
absolute URL, and the link must open the run page with its chart.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jupyter_helpers import BASE_URL, TOKEN, start_jupyter

from helpers.browser import (
    JUPYTER_PAGE_ERRORS,
    PageErrors,
    chromium,
    output_text,
    require_chromium,
    run_all,
    wait_kernel_ready,
)

pytestmark = pytest.mark.timeout(300)

CELLS = [
    "%load_ext nbtrack\nimport nbtrack",
    "run = nbtrack.init(project='links', name='linked')\n"
    "for i in range(40):\n    run.log({'x': i * 0.5})\nrun.finish(quiet=True)",
    "%track_status",
    "print('IDS', run.entity, run.project, run.id)",
]


def test_widget_links_through_jupyter(nbtrack_home: Path, tmp_path: Path) -> None:
    require_chromium()
    with start_jupyter(tmp_path / "lab", nbtrack_home, app="jupyterlab") as jup:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, jup.home / "links.ipynb")
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            errors = PageErrors(page, allowed=JUPYTER_PAGE_ERRORS)
            page.goto(f"{jup.base}lab/tree/links.ipynb?token={TOKEN}",
                      wait_until="domcontentloaded", timeout=60_000)
            page.locator(".jp-Notebook").first.wait_for(state="attached", timeout=60_000)
            wait_kernel_ready(page)
            run_all(page)
            ids = output_text(page, "IDS", 90)
            entity, project, run_id = ids.split("IDS", 1)[1].split()
            expected = f"{BASE_URL}nbtrack/runs/{entity}/{project}/{run_id}"
            link = page.locator(".nbtrack-link[data-pages=jupyter]").first
            link.wait_for(state="attached", timeout=30_000)
            assert link.get_attribute("href") == expected
            status = output_text(page, "page:", 30)
            assert f"page:      {jup.origin}{expected}" in status
            page.goto(jup.origin + expected)
            page.wait_for_selector(".nbt-chart[data-key=x][data-drawn='40']", timeout=30_000)
        errors.check()

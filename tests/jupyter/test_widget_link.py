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

import pytest
from jupyter_helpers import BASE_URL, open_in_lab, start_jupyter

from helpers.browser import (
    chromium,
    output_text,
    require_chromium,
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
        with chromium() as browser:
            page, errors = open_in_lab(browser, jup, CELLS, "links")
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

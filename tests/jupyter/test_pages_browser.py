"""The run pages in a real browser, served by a real Jupyter server under ``/user/alice/``.

Two runs: one logged from a notebook executed in a real kernel (nbclient), one from
``nbtrack.init`` in this process (left running, so the table must refresh it live). The
browser (Debian's Chromium through Playwright, ``tests/helpers/browser.py``)
logs in with Jupyter's token, opens ``<base_url>nbtrack/``, checks states and last steps,
opens a run page and compares the chart's points with the API's answer (also after a zoom),
then selects both runs and checks the compare view's two series. Screenshots go to
``docs/img/pages-*.png``.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests
from jupyter_helpers import TOKEN, start_jupyter
from nbclient import NotebookClient

from helpers.browser import PageErrors, chromium, require_chromium
from helpers.wait import wait_until

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
NB_STEPS = 600
TEST_STEPS = 300

NOTEBOOK_SOURCE = f"""
import math
import nbtrack
run = nbtrack.init(project="pages", name="from-notebook", tags=["baseline", "adam"],
                   group="sweep-1", notes="the first try",
                   config={{"lr": 0.01, "optimizer": "adam", "layers": 4}})
for i in range({NB_STEPS}):
    run.log({{"loss": 2.0 / (1 + 0.02 * i) + 0.05 * math.sin(i / 7),
             "acc": min(0.99, 0.1 + 0.002 * i), "val": {{"loss": 2.5 / (1 + 0.02 * i)}}}})
run.finish(quiet=True)
print(run.entity, run.id)
"""


def _run_notebook(tmp: Path) -> tuple[str, str]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_SOURCE)]
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={
        "metadata": {"path": str(tmp)}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stdout")
    entity, run_id = out.strip().splitlines()[-1].split()
    return entity, run_id


def _server() -> tuple[str, tuple[str, str]]:
    from nbtrack.client.localserver import find_local_server

    info = find_local_server(Path(os.environ["NBTRACK_DIR"]))
    assert info is not None
    return info.url, ("api", info.token)


def _wait_last_step(path: str, step: int) -> None:
    url, auth = _server()

    def last_step() -> Any:
        return requests.get(f"{url}/api/v1/runs/{path}", auth=auth, timeout=5).json().get(
            "last_step")

    wait_until(lambda: last_step() == step, timeout=30,
               message=lambda: f"run {path} at step {last_step()}, not {step}")


def _api_points(path: str, key: str, lo: int | None = None, hi: int | None = None
                ) -> tuple[list[int], list[float]]:
    url, auth = _server()
    q = f"{url}/api/v1/runs/{path}/history?samples=1000&keys=acc,loss"
    if lo is not None:
        q += f"&min_step={lo}&max_step={hi}"
    rows = requests.get(q, auth=auth, timeout=10).json()["rows"]
    pts = [(r["_step"], r[key]) for r in rows if key in r]
    return [p[0] for p in pts], [p[1] for p in pts]


def test_pages_in_browser(nbtrack_home: Path, tmp_path: Path) -> None:
    import nbtrack

    require_chromium()
    entity, nb_id = _run_notebook(tmp_path)
    run = nbtrack.init(project="pages", name="from-test",
                       config={"lr": 0.1, "optimizer": "adam", "layers": 2})
    try:
        for i in range(TEST_STEPS):
            run.log({"loss": 3.0 / (1 + 0.01 * i), "acc": 0.05 + 0.001 * i})
        nb_path, test_path = f"{entity}/pages/{nb_id}", f"{run.entity}/pages/{run.id}"
        _wait_last_step(test_path, TEST_STEPS - 1)
        with start_jupyter(tmp_path / "jupyter", nbtrack_home) as jup:
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                errors = PageErrors(page, console=True)
                # Jupyter's token login sets its cookie; later pages need no token
                page.goto(f"{jup.base}nbtrack/?token={TOKEN}")
                page.goto(f"{jup.base}nbtrack/")
                _check_table(page, nb_path, test_path)
                # the running run refreshes live
                for i in range(TEST_STEPS, TEST_STEPS + 50):
                    run.log({"loss": 3.0 / (1 + 0.01 * i), "acc": 0.05 + 0.001 * i})
                page.wait_for_function(
                    "s => document.querySelector(`tr[data-run='${s}'] td[data-col=last_step]`)"
                    f"?.textContent === '{TEST_STEPS + 49}'", arg=test_path, timeout=20000)
                IMG.mkdir(parents=True, exist_ok=True)
                page.locator("main").screenshot(path=str(IMG / "pages-runs.png"))

                page.click(f"tr[data-run='{nb_path}'] td[data-col=name] a")
                _check_run_page(page, nb_path)
                page.select_option(".nbt-xaxis", "step")
                page.uncheck(".nbt-log")
                page.wait_for_selector(".nbt-chart[data-key=loss] canvas")
                page.screenshot(path=str(IMG / "pages-run.png"), full_page=True)

                page.goto(f"{jup.base}nbtrack/")
                page.wait_for_selector(f"tr[data-run='{test_path}']")
                page.check(f"tr[data-run='{nb_path}'] input.nbt-select")
                page.check(f"tr[data-run='{test_path}'] input.nbt-select")
                page.click(".nbt-compare-button")
                _check_compare(page, nb_path, test_path)
                page.locator("main").screenshot(path=str(IMG / "pages-compare.png"))
                _check_server_pages(browser, nbtrack_home, nb_path)
            errors.check()
            log = jup.log.read_text()
            assert "Traceback" not in log, log[-3000:]
    finally:
        run.finish(quiet=True)


def _check_table(page: Any, nb_path: str, test_path: str) -> None:
    page.wait_for_selector(f"tr[data-run='{nb_path}']", timeout=20000)
    page.wait_for_selector(f"tr[data-run='{test_path}']")
    cell = page.locator(f"tr[data-run='{nb_path}'] td[data-col=state] .nbt-badge")
    assert cell.get_attribute("data-state") == "finished"
    assert page.locator(f"tr[data-run='{nb_path}'] td[data-col=last_step]").inner_text() == str(
        NB_STEPS - 1)
    assert page.locator(
        f"tr[data-run='{test_path}'] td[data-col=state] .nbt-badge").inner_text() == "running"
    assert page.locator(f"tr[data-run='{test_path}'] td[data-col=last_step]").inner_text() == str(
        TEST_STEPS - 1)
    # filter by state, then by text
    page.select_option(".nbt-filter-state", "running")
    assert page.locator("tbody tr").count() == 1
    page.select_option(".nbt-filter-state", "")
    page.fill(".nbt-filter-text", "from-notebook")
    assert page.locator("tbody tr").count() == 1
    page.fill(".nbt-filter-text", "")
    # a summary column picked by the user
    page.click(".nbt-columns-button")
    page.check(".nbt-columns-list input[value=loss]")
    page.click(".nbt-columns-button")
    assert page.locator(f"tr[data-run='{nb_path}'] td[data-col='s:loss']").inner_text() != ""
    # tags, group and notes are shown; a config column sorts the runs by its value
    nb_row = page.locator(f"tr[data-run='{nb_path}']")
    assert nb_row.locator("td[data-col=tags] .nbt-tag").all_inner_texts() == ["baseline", "adam"]
    assert nb_row.locator("td[data-col=group]").inner_text() == "sweep-1"
    assert nb_row.locator("td[data-col=name] .nbt-notes").inner_text() == "the first try"
    page.click(".nbt-config-button")
    page.check(".nbt-config-list input[value=lr]")
    page.click(".nbt-config-button")
    assert nb_row.locator("td[data-col='c:lr']").inner_text() == "0.01"
    page.click("th[data-sort='c:lr']")  # descending first: lr 0.1 (the test's run) on top
    order = page.eval_on_selector_all("tbody tr", "rows => rows.map(r => r.dataset.run)")
    assert order.index(test_path) < order.index(nb_path), order
    page.click("th[data-sort='c:lr']")
    order = page.eval_on_selector_all("tbody tr", "rows => rows.map(r => r.dataset.run)")
    assert order.index(nb_path) < order.index(test_path), order


def _chart(page: Any, key: str) -> dict[str, list[float]]:
    return page.evaluate(f"window.nbtrackPages.charts[{key!r}]")  # type: ignore[no-any-return]


def _check_run_page(page: Any, nb_path: str) -> None:
    page.wait_for_selector(".nbt-chart[data-key=loss][data-drawn]", timeout=20000)
    assert page.locator(".nbt-run-head .nbt-badge").inner_text() == "finished"
    assert page.locator(".nbt-config tr[data-key=lr]").inner_text().split() == ["lr", "0.01"]
    steps, values = _api_points(nb_path, "loss")
    drawn = _chart(page, "loss")
    assert drawn["steps"] == steps
    assert drawn["values"] == pytest.approx(values)
    box = page.locator(".nbt-chart[data-key=loss]")
    assert box.get_attribute("data-drawn") == str(len(steps))
    assert box.locator("canvas").count() == 1
    # zoom by dragging across the plot: the page asks for min_step/max_step
    over = box.locator(".u-over").bounding_box()
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.5, y, steps=5)
    page.mouse.up()
    page.wait_for_function("document.querySelector('.nbt-metrics').dataset.zoom")
    page.wait_for_selector(".nbt-chart[data-key=loss][data-drawn]")
    lo, hi = (int(x) for x in page.locator(".nbt-metrics").get_attribute("data-zoom").split(","))
    assert 0 < lo < hi < NB_STEPS - 1
    zsteps, zvalues = _api_points(nb_path, "loss", lo, hi)
    zoomed = _chart(page, "loss")
    assert zoomed["steps"] == zsteps and all(lo <= s <= hi for s in zsteps)
    assert zoomed["values"] == pytest.approx(zvalues)
    # x axis by runtime and a log scale redraw without errors
    page.select_option(".nbt-xaxis", "runtime")
    page.check(".nbt-log")
    page.wait_for_selector(".nbt-chart[data-key=acc] canvas")
    page.click(".nbt-reset")
    page.wait_for_function("!document.querySelector('.nbt-metrics').dataset.zoom")
    _check_chart_tools(page, nb_path)
    rss = page.locator(".nbt-system-chart[data-key='system.proc.memory.rssMB'] h3")
    assert rss.inner_text() == "process memory (RSS) · MB"  # friendly names with units
    assert rss.get_attribute("title") == "system.proc.memory.rssMB"


def _variation(values: list[float | None]) -> float:
    pts = [v for v in values if v is not None]
    return sum(abs(b - a) for a, b in itertools.pairwise(pts))


def _check_chart_tools(page: Any, nb_path: str) -> None:
    """Sections by prefix, the filter box, EMA smoothing (raw kept faint), per-chart log
    scale and the CSV export."""
    page.wait_for_selector(".nbt-chart[data-key=loss][data-drawn]")
    sections = page.eval_on_selector_all(".nbt-section", "s => s.map(x => x.dataset.section)")
    assert sections == ["", "val"]
    assert page.locator(".nbt-section[data-section=val] .nbt-chart").count() == 1
    page.fill(".nbt-metric-filter", "val/")
    assert page.locator(".nbt-section[data-section='']").is_hidden()
    assert page.locator(".nbt-chart[data-key='val/loss']").is_visible()
    page.fill(".nbt-metric-filter", "")
    assert page.locator(".nbt-chart[data-key=loss]").is_visible()
    page.select_option(".nbt-xaxis", "step")
    raw = page.evaluate("window.nbtrackPages.drawn.loss")
    assert raw["line"] != raw["band"][0] or raw["band"][0] != raw["band"][1]
    page.locator(".nbt-smooth").fill("0.9")
    page.wait_for_function("document.querySelector('.nbt-smooth-value').textContent === '0.9'")
    smooth = page.evaluate("window.nbtrackPages.drawn.loss")
    assert smooth["band"] == raw["band"]  # the raw series stays, faint, behind the line
    assert _variation(smooth["line"]) < 0.8 * _variation(raw["line"])  # sin(i/7) wiggles damped
    page.locator(".nbt-smooth").fill("0")
    acc = page.locator(".nbt-chart[data-key=acc]")
    before = acc.get_attribute("data-log")
    acc.locator(".nbt-chart-log").click()
    assert acc.get_attribute("data-log") != before
    assert page.locator(".nbt-chart[data-key=loss]").get_attribute("data-log") == before
    with page.expect_download() as info:
        page.locator(".nbt-chart[data-key=loss] .nbt-chart-csv").click()
    lines = Path(info.value.path()).read_text().splitlines()
    steps, values = _api_points(nb_path, "loss")
    assert lines[0] == "step,loss" and len(lines) == len(steps) + 1
    assert [int(ln.split(",")[0]) for ln in lines[1:]] == steps
    assert [float(ln.split(",")[1]) for ln in lines[1:]] == pytest.approx(values)


def _check_compare(page: Any, nb_path: str, test_path: str) -> None:
    chart = page.wait_for_selector(".nbt-compare-chart[data-series='2']", timeout=20000)
    assert chart is not None
    # several metrics at once: one chart each
    page.check(".nbt-compare-metrics input[value=loss]")
    page.wait_for_selector(".nbt-compare-chart[data-metric=loss] canvas")
    shown = page.eval_on_selector_all(".nbt-compare-chart", "cs => cs.map(c => c.dataset.metric)")
    assert shown == ["acc", "loss"]
    loss = page.locator(".nbt-compare-chart[data-metric=loss]")
    # uPlot's legend: the x series and one per run
    assert loss.locator(".u-legend .u-series").count() == 3
    legend = page.locator(".nbt-legend span")
    assert sorted(legend.evaluate_all("els => els.map(e => e.dataset.run)")) == sorted(
        [nb_path, test_path])
    points = loss.get_attribute("data-points").split(",")
    assert all(int(n) > 0 for n in points)
    # hovering shows every run's value, also where a run has no point at that step
    over = loss.locator(".u-over").bounding_box()
    page.mouse.move(over["x"] + over["width"] * 0.4, over["y"] + over["height"] / 2)
    values = loss.locator(".u-legend .u-series .u-value").all_inner_texts()
    assert len(values) == 3 and all(v not in ("", "—", "--") for v in values[1:]), values
    # a drag zooms: each run's history is fetched again for that step range
    page.mouse.move(over["x"] + over["width"] * 0.2, over["y"] + over["height"] / 2)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.4, over["y"] + over["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_function("document.querySelector('.nbt-compare-charts').dataset.zoom")
    lo, hi = (int(x) for x in page.locator(".nbt-compare-charts").get_attribute(
        "data-zoom").split(","))
    page.wait_for_selector(".nbt-compare-chart[data-metric=loss] canvas")
    per = page.evaluate("window.nbtrackPages.compare.loss")
    assert all(lo <= s <= hi for run in per for s in run["steps"]) and per[0]["steps"]
    page.click(".nbt-reset")
    page.wait_for_function("!document.querySelector('.nbt-compare-charts').dataset.zoom")
    page.wait_for_selector(".nbt-compare-chart[data-metric=loss] canvas")
    diff = page.locator(".nbt-diff tr[data-key]")
    assert sorted(diff.evaluate_all("els => els.map(e => e.dataset.key)")) == ["layers", "lr"]


def _check_server_pages(browser: Any, nbtrack_home: Path, nb_path: str) -> None:
    """The tracking server's own copy: the one-time link it logged logs a browser in, and a
    run's W&B-style URL (the widget's link without the extension) opens its page."""
    import re

    log = (nbtrack_home / "server" / "server.log").read_text()
    link = re.findall(r"(http://\S+/pages/login\?once=[\w-]+)", log)[-1]
    origin = link.split("/pages/", 1)[0]
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        page.goto(f"{origin}/pages/")  # not logged in: the login form
        assert page.locator("form.nbt-login").count() == 1
        page.goto(link)
        page.wait_for_selector(f"tr[data-run='{nb_path}']", timeout=20000)
        e, p, i = nb_path.split("/")
        page.goto(f"{origin}/{e}/{p}/runs/{i}")
        page.wait_for_selector(".nbt-chart[data-key=loss][data-drawn]", timeout=20000)
        assert page.url == f"{origin}/pages/runs/{nb_path}"
    finally:
        ctx.close()

"""NaN, inf and -inf in the run pages served by Jupyter (``/user/alice/nbtrack/``).

Two runs logged with ``nbtrack.init`` (the local server the extension finds through
``state.json``), one with NaN / inf / -inf in its history, summary and config. First every
read path forwarded by the extension (``nbtrack/api/…``) must be strict JSON holding the
logged values; then, in Chromium, the runs table, the run page and the compare view must
render (no error box, no page error) and show the values as the widget does: ``NaN``,
``+∞``, ``−∞``; the charts draw the finite points and count the others.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from jupyter_helpers import TOKEN, Jupyter, start_jupyter

from helpers.strictjson import decode, same, strict_loads

pytestmark = pytest.mark.timeout(300)

CHROMIUM = Path(os.environ.get("NBTRACK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
NAN, INF = math.nan, math.inf
STEPS = 40
SPECIAL = {7: NAN, 15: INF, 23: -INF}  # loss at these steps
CONFIG = {"lr": NAN, "clip": INF, "floor": -INF, "nested": {"x": NAN, "y": [INF, 1]}}
SUMMARY = {"s_nan": NAN, "s_inf": INF, "s_ninf": -INF}


def loss(i: int) -> float:
    return SPECIAL.get(i, 2.0 / (1 + i))


@dataclass
class Runs:
    weird: str  # entity/project/id of the run with non-finite values
    plain: str


@pytest.fixture(scope="module")
def runs(nbtrack_home: Path) -> Runs:
    import nbtrack

    run = nbtrack.init(project="nonfinite", name="weird", config=CONFIG, console="off")
    run.define_metric("loss", summary="min,max,last")
    for i in range(STEPS):
        run.log({"loss": loss(i), "acc": i / STEPS})
    run.summary.update(SUMMARY)
    run.finish(quiet=True)
    other = nbtrack.init(project="nonfinite", name="plain", console="off",
                         config={"lr": 0.1, "clip": 1.0, "floor": 0.0, "nested": {"x": 1}})
    for i in range(STEPS):
        other.log({"loss": 1.0 / (1 + i), "acc": i / STEPS})
    other.finish(quiet=True)
    return Runs(run.path, other.path)


@pytest.fixture(scope="module")
def jupyter(runs: Runs, nbtrack_home: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Jupyter]:
    with start_jupyter(tmp_path_factory.mktemp("jupyter"), nbtrack_home) as jup:
        yield jup


def _forwarded(jup: Jupyter, path: str) -> Any:
    r = requests.get(f"{jup.base}nbtrack/api/{path}", timeout=30,
                     headers={"Authorization": f"token {TOKEN}"})
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/json"), path
    try:
        return strict_loads(r.content)
    except ValueError as e:
        pytest.fail(f"nbtrack/api/{path}: {e}: {r.content[:200]!r}")


def test_forwarded_answers_are_strict_json(jupyter: Jupyter, runs: Runs) -> None:
    """Every read path the extension forwards, with the values decoded as logged."""
    h = f"runs/{runs.weird}/history"
    answers = {p: _forwarded(jupyter, p) for p in (
        "viewer", "runs", "runs?project=nonfinite", f"runs/{runs.weird}", h,
        f"{h}?keys=loss", f"{h}?samples=1000&keys=loss,acc", f"{h}?samples=2&keys=loss",
        f"{h}?min_step=5&max_step=25", f"runs/{runs.weird}/events",
        f"runs/{runs.weird}/output", f"runs/{runs.weird}/files")}
    run = decode(answers[f"runs/{runs.weird}"])
    assert same(run["config"], CONFIG) and run["summary"]["loss"]["min"] == -INF
    assert all(same(run["summary"][k], v) for k, v in SUMMARY.items())
    listed = [decode(r) for r in answers["runs"]["runs"] if r["id"] == run["id"]]
    assert len(listed) == 1 and same(listed[0]["config"], CONFIG)
    rows = decode(answers[h]["rows"])
    assert [r["_step"] for r in rows] == list(range(STEPS))
    assert all(same(r["loss"], loss(r["_step"])) for r in rows)
    for query in (f"{h}?keys=loss", f"{h}?samples=1000&keys=loss,acc",
                  f"{h}?samples=2&keys=loss", f"{h}?min_step=5&max_step=25"):
        got = decode(answers[query]["rows"])
        assert got and all(same(r["loss"], loss(r["_step"])) for r in got if "loss" in r), query
    kept = [r["loss"] for r in decode(answers[f"{h}?samples=2&keys=loss"]["rows"])]
    assert min(kept) == -INF and max(kept) == INF  # the levels keep the extremes


def test_pages_show_nonfinite_values(jupyter: Jupyter, runs: Runs) -> None:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        errors: list[str] = []
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{jupyter.base}nbtrack/?token={TOKEN}")
            page.goto(f"{jupyter.base}nbtrack/?cols=s_nan,s_inf,s_ninf,loss")
            _check_table(page, runs)
            page.click(f"tr[data-run='{runs.weird}'] td[data-col=name] a")
            _check_run_page(page, runs)
            page.goto(f"{jupyter.base}nbtrack/compare?metric=loss&runs="
                      f"{runs.weird},{runs.plain}")
            _check_compare(page, runs)
        finally:
            browser.close()
    assert not errors, errors


def _no_error_box(page: Any) -> None:
    boxes = page.locator(".nbt-error").all_inner_texts()
    assert not boxes, boxes


def _check_table(page: Any, runs: Runs) -> None:
    row = f"tr[data-run='{runs.weird}']"
    page.wait_for_selector(row, timeout=20000)
    page.wait_for_selector(f"tr[data-run='{runs.plain}']")
    _no_error_box(page)
    cells = {c: page.locator(f"{row} td[data-col='s:{c}']").inner_text()
             for c in ("s_nan", "s_inf", "s_ninf")}
    assert cells == {"s_nan": "NaN", "s_inf": "+∞", "s_ninf": "−∞"}
    # sorting by a column holding NaN: NaN sorts with the missing values, no error
    page.click("th[data-sort='s:s_inf']")
    page.wait_for_selector("th[data-sort='s:s_inf'][data-dir]")
    order = page.locator("tbody tr").evaluate_all("rs => rs.map(r => r.dataset.run)")
    assert order[0] == runs.weird  # +∞ first, descending
    _no_error_box(page)


def _api_loss(runs: Runs) -> tuple[list[int], list[float], int]:
    """The finite points of the run page's own history query, and how many are not."""
    from nbtrack.wire.discovery import live as _live
    from nbtrack.wire.statefile import read_state as _read_state

    info = _live(_read_state(Path(os.environ["NBTRACK_DIR"]) / "server" / "state.json"))
    assert info is not None
    keys = ",".join(sorted(["loss", "acc", *SUMMARY]))
    r = requests.get(f"{info.url}/api/v1/runs/{runs.weird}/history",
                     params={"samples": 1000, "keys": keys}, auth=("api", info.token), timeout=10)
    pts = [(row["_step"], decode(row["loss"])) for row in strict_loads(r.content)["rows"]
           if "loss" in row]
    finite = [(s, v) for s, v in pts if math.isfinite(v)]
    return [s for s, _ in finite], [v for _, v in finite], len(pts) - len(finite)


def _check_run_page(page: Any, runs: Runs) -> None:
    page.wait_for_selector(".nbt-chart[data-key=loss][data-drawn]", timeout=20000)
    _no_error_box(page)

    def value(table: str, key: str) -> str:
        return page.locator(f".{table} tr[data-key='{key}'] td").nth(1).inner_text()

    assert [value("nbt-config", k) for k in ("lr", "clip", "floor")] == ["NaN", "+∞", "−∞"]
    assert value("nbt-config", "nested") == "{x: NaN, y: [+∞, 1]}"
    assert [value("nbt-summary", k) for k in SUMMARY] == ["NaN", "+∞", "−∞"]
    assert "min=−∞" in value("nbt-summary", "loss") and "max=+∞" in value("nbt-summary", "loss")
    steps, values, skipped = _api_loss(runs)
    drawn = page.evaluate("window.nbtrackPages.charts.loss")
    assert drawn["steps"] == steps and drawn["values"] == pytest.approx(values)
    assert skipped == len(SPECIAL) and drawn["skipped"] == skipped
    box = page.locator(".nbt-chart[data-key=loss]")
    assert box.get_attribute("data-drawn") == str(len(steps))
    assert box.get_attribute("data-skipped") == str(skipped)
    assert "3 NaN / ±∞ not drawn" in box.locator("h3").inner_text()
    assert box.locator("canvas").count() == 1
    # a log scale over a series that held -inf and a redraw by runtime: still no error
    page.check(".nbt-log")
    page.select_option(".nbt-xaxis", "runtime")
    page.wait_for_selector(".nbt-chart[data-key=loss] canvas")
    _no_error_box(page)


def _check_compare(page: Any, runs: Runs) -> None:
    chart = page.wait_for_selector(".nbt-compare-chart[data-metric=loss] canvas", timeout=20000)
    assert chart is not None
    _no_error_box(page)
    points = page.locator(".nbt-compare-chart").get_attribute("data-points").split(",")
    assert points == [str(STEPS - len(SPECIAL)), str(STEPS)]  # the weird run's finite points
    diff = page.locator(".nbt-diff tr[data-key]")
    assert sorted(diff.evaluate_all("els => els.map(e => e.dataset.key)")) == [
        "clip", "floor", "lr", "nested"]
    weird = [page.locator(f".nbt-diff tr[data-key={k}] td").nth(1).inner_text()
             for k in ("lr", "clip", "floor")]
    assert weird == ["NaN", "+∞", "−∞"]

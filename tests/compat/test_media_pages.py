"""The official ``wandb`` client's ``wandb.Image``, gallery, ``wandb.Histogram`` and
``wandb.Table`` logged to nbtrack's server, shown by the server's run pages in Chromium.

Two runs of ``scripts/media.py`` (one server of this module's own, so the suite's server
log, checked for unknown fields, holds only what its own tests sent). The run
page's image slider is moved to an older step and must show that step's file (its ``src``
and its decoded pixels); the table viewer sorts by a column (the order is read back); the
histogram heat strip has a column per step; the compare view shows one key of both runs
at a chosen step; a table's image cells show as thumbnails. Screenshots go to ``docs/img/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import WandbClient
from .venvs import Venv
from helpers.browser import PageErrors, chromium
from helpers.server import RunningServer, gql, start_server, stream, upsert

pytestmark = pytest.mark.timeout(300)

STEPS = 4
IMG = Path(__file__).parents[2] / "docs" / "img"


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    srv = start_server(tmp_path_factory.mktemp("media-server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def runs(wandb_venv: Venv, media_server: RunningServer,
         tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = []
    for rid in ("alpha", "beta"):
        home = tmp_path_factory.mktemp(f"wandb-{rid}")
        res = WandbClient(wandb_venv, media_server, home).script("media.py", "media", rid, STEPS)
        out.append(json.loads(res.lines("RESULT")[0]))
    return out


CREATE = """
mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run,
                         files: $files}) { files { name uploadUrl } }
}
"""


def _png(red: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 10), (red, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


def _table_with_images(server: RunningServer, entity: str) -> None:
    """Run ``cells``: a table whose cells hold images (as nbtrack.Table writes them)."""
    upsert(server, "cells", project="media")
    names = ["media/images/cell_0.png", "media/images/cell_1.png", "media/table/t_0_aa.table.json"]
    table = {"columns": ["name", "picture"], "data": [
        ["dark", {"_type": "image-file", "path": names[0], "width": 16, "height": 10}],
        ["bright", {"_type": "image-file", "path": names[1], "width": 16, "height": 10}]]}
    bodies = [_png(30), _png(220), json.dumps(table).encode()]
    out = gql(server, CREATE, {"entity": entity, "project": "media", "run": "cells",
                               "files": names})
    for f, body in zip(out["data"]["createRunFiles"]["files"], bodies, strict=True):
        assert requests.put(f["uploadUrl"], data=body, timeout=10).ok
    row = {"_step": 0, "t": {"_type": "table-file", "path": names[2], "nrows": 2, "ncols": 2}}
    assert stream(server, f"{entity}/media/cells",
                  {"wandb-history.jsonl": (0, [json.dumps(row)])}).ok


def _get(server: RunningServer, path: str, **params: Any) -> Any:
    r = requests.get(f"{server.url}/api/v1/{path}", params=params, auth=server.auth, timeout=30)
    assert r.status_code == 200, (path, r.text)
    return r.json()


def test_wandb_media_on_the_run_pages(runs: list[dict[str, Any]],
                                      media_server: RunningServer) -> None:
    ent = runs[0]["entity"]
    base = f"runs/{ent}/media/alpha"
    keys = {k["key"]: (k["kind"], k["count"]) for k in _get(media_server, f"{base}/media")["keys"]}
    assert keys == {"sample": ("image", STEPS), "gallery": ("images", STEPS),
                    "weights": ("histogram", STEPS), "preds": ("table", 1)}
    paths = [_get(media_server, f"{base}/media", key="sample", step=s)["value"]["path"]
             for s in range(STEPS)]
    assert len(set(paths)) == STEPS  # a file per step

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors = PageErrors(page)  # (console errors: the server has no favicon, a 401)
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
                and not r.url.endswith("/favicon.ico") else None)
        page.goto(f"{media_server.url}/pages/login?token={media_server.token}")
        page.goto(f"{media_server.url}/pages/{base}")
        page.locator(".nbt-media-grid[data-ready='1']").wait_for(timeout=30_000)
        sample = page.locator(".nbt-media[data-key='sample']")
        assert sample.get_attribute("data-step") == str(STEPS - 1)

        def shown() -> tuple[str, list[int]]:
            """The sample image's src and the pixel its <img> decoded at (2, 2)."""
            page.wait_for_function("""() => { const im = document.querySelector(
                ".nbt-media[data-key='sample'] img.nbt-media-img");
                return im && im.complete && im.naturalWidth > 0; }""", timeout=20_000)
            return page.evaluate("""() => {
                const im = document.querySelector(
                    ".nbt-media[data-key='sample'] img.nbt-media-img");
                const c = document.createElement('canvas'); c.width = im.naturalWidth;
                c.height = im.naturalHeight; const g = c.getContext('2d'); g.drawImage(im, 0, 0);
                return [im.getAttribute('src'), Array.from(g.getImageData(2, 2, 1, 1).data)]; }""")

        src, px = shown()
        assert src.endswith(paths[-1]) and px[:3] == [40 * (STEPS - 1) + 20, 0, 0]
        assert sample.locator("figcaption").inner_text() == f"alpha step {STEPS - 1}"
        # the slider to an older step: that step's file, caption and pixels
        sample.locator("input.nbt-step-slider").evaluate(
            "(s) => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
        page.wait_for_function("""() => document.querySelector(
            ".nbt-media[data-key='sample']").dataset.step === '1'""", timeout=20_000)
        src, px = shown()
        assert src.endswith(paths[1]) and px[:3] == [60, 0, 0]
        assert sample.locator("figcaption").inner_text() == "alpha step 1"
        gallery = page.locator(".nbt-media[data-key='gallery'] .nbt-gallery figure")
        assert gallery.count() == 2

        heat = page.locator(".nbt-media[data-key='weights'] canvas.nbt-heat")
        assert heat.get_attribute("data-steps") == ",".join(map(str, range(STEPS)))

        table = page.locator(".nbt-media[data-key='preds'] .nbt-table-viewer")
        table.locator("tr.nbt-row").first.wait_for(timeout=20_000)
        assert "45 of 45 rows" in table.locator(".nbt-table-info").inner_text()

        def column(i: int) -> list[str]:
            cells = table.locator(f"tr.nbt-row td:nth-child({i})")
            return [c.strip() for c in cells.all_inner_texts()]

        table.locator("th", has_text="score").click()
        scores = [float(x) for x in column(3)]
        assert scores == sorted(scores) and len(scores) == 20 and scores[0] == 0.0
        table.locator("th", has_text="score").click()
        desc = [float(x) for x in column(3)]
        assert desc == sorted(desc, reverse=True) and desc[0] == 1.0
        table.locator("th", has_text="label").click()
        labels = column(2)
        assert labels == sorted(labels)
        table.locator("input.nbt-table-filter").fill("class 3")
        assert set(column(2)) == {"class 3"} and "9 of 45 rows" in table.locator(
            ".nbt-table-info").inner_text()
        table.locator("input.nbt-table-filter").fill("")
        page.locator(".nbt-media-grid").screenshot(path=str(IMG / "media-run-page.png"))

        # the compare view: one key of both runs at step 2
        page.goto(f"{media_server.url}/pages/compare?runs={ent}/media/alpha,{ent}/media/beta"
                  "&media=sample&step=2")
        cells = page.locator(".nbt-compare-media .nbt-compare-cell")
        cells.nth(1).wait_for(timeout=30_000)
        assert [cells.nth(i).get_attribute("data-step") for i in range(2)] == ["2", "2"]
        assert [cells.nth(i).locator("figcaption").inner_text() for i in range(2)] == [
            "alpha step 2", "beta step 2"]
        page.locator(".nbt-compare-media").screenshot(path=str(IMG / "media-compare.png"))

        # image cells of a table are thumbnails (loaded: decoded to their size)
        _table_with_images(media_server, ent)
        page.goto(f"{media_server.url}/pages/runs/{ent}/media/cells")
        thumbs = page.locator(".nbt-media[data-key='t'] img.nbt-thumb")
        thumbs.nth(1).wait_for(timeout=30_000)
        page.wait_for_function("""() => [...document.querySelectorAll('img.nbt-thumb')]
            .every(im => im.complete && im.naturalWidth === 16)""", timeout=20_000)
        page.locator(".nbt-media[data-key='t'] th", has_text="name").click()
        assert [t.split("/")[-1] for t in [thumbs.nth(i).get_attribute("src") or ""
                                           for i in range(2)]] == ["cell_1.png", "cell_0.png"]
        errors.check()
        assert not failed, failed

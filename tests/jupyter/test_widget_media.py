"""The run widget's media in JupyterLab (under ``/user/alice/``): the newest image of a key,
and its step slider fetching an older step from the tracking server through Jupyter.

A notebook starts a run (the local server), and waits; meanwhile this test puts four steps
of W&B-encoded media into that run on the server (PNG files through ``createRunFiles`` and
rows through ``file_stream``, as a media-logging client does) and hands the newest values to
the kernel, which sets them in the run's summary (the widget's Python side reads them from
there). The widget must show step 13's image (its ``src`` and its decoded pixels), move to
step 11 when the slider does, and draw the histogram's four steps.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from jupyter_helpers import TOKEN, open_in_lab, start_jupyter

from helpers.browser import chromium, output_text, require_chromium

pytestmark = pytest.mark.timeout(300)

STEPS = [10, 11, 12, 13]
IMG = Path(__file__).parents[2] / "docs" / "img"
CREATE = """
mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run,
                         files: $files}) { files { name uploadUrl } }
}
"""


def _cells(marker: Path) -> list[str]:
    return [
        "%load_ext nbtrack\nimport nbtrack, json, time, pathlib",
        "run = nbtrack.init(project='mediaw', name='widget-media', console='off')\n"
        "run.log({'loss': 1.0})\nprint('IDS', run.entity, run.project, run.id)",
        f"marker = pathlib.Path({str(marker)!r})\ndeadline = time.time() + 120\n"
        "while not marker.exists() and time.time() < deadline:\n    time.sleep(0.1)\n"
        "run.summary.update(json.loads(marker.read_text()))\nprint('MEDIA SET')",
    ]


def _png(red: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 12), (red, 30, 90)).save(buf, format="PNG")
    return buf.getvalue()


def _put_media(entity: str, project: str, run_id: str) -> dict[str, Any]:
    """Four steps of an image and a histogram on the server; the newest values."""
    from nbtrack.client.localserver import resolve_server

    url, key = resolve_server(local=True, start=False)
    auth = ("api", key)
    files = {s: (f"media/images/sample_{s}_{s:020x}.png", _png(40 * s - 350)) for s in STEPS}
    files[-1] = ("media/images/x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    out = requests.post(f"{url}/graphql", auth=auth, timeout=30, json={
        "query": CREATE, "variables": {"entity": entity, "project": project, "run": run_id,
                                       "files": [p for p, _ in files.values()]}}).json()
    urls = {f["name"]: f["uploadUrl"] for f in out["data"]["createRunFiles"]["files"]}
    for path, body in files.values():
        assert requests.put(urls[path], data=body, timeout=30).ok
    rows, newest = [], {}
    for s in STEPS:
        path, body = files[s]
        newest = {"sample": {"_type": "image-file", "path": path, "sha256": f"{s:064x}",
                             "size": len(body), "width": 20, "height": 12, "format": "png",
                             "caption": f"step {s}"},
                  "weights": {"_type": "histogram", "bins": [s, s + 1, s + 2],
                              "values": [3, 1]}}
        rows.append(json.dumps({"_step": s, **newest}))
    r = requests.post(f"{url}/files/{entity}/{project}/{run_id}/file_stream", auth=auth,
                      timeout=30, json={"files": {"wandb-history.jsonl": {
                          "offset": 1000, "content": rows}}})
    assert r.ok, r.text
    return newest


def _shown(page: Any) -> tuple[str, list[int]]:
    """The widget's sample image: its src and the pixel its <img> decoded at (3, 3)."""
    page.wait_for_function("""() => { const im = document.querySelector(
        ".nbtrack-media-card[data-key='sample'] img.nbtrack-thumb");
        return im && im.complete && im.naturalWidth > 0; }""", timeout=30_000)
    return page.evaluate("""() => {
        const im = document.querySelector(".nbtrack-media-card[data-key='sample'] img");
        const c = document.createElement('canvas'); c.width = im.naturalWidth;
        c.height = im.naturalHeight; const g = c.getContext('2d'); g.drawImage(im, 0, 0);
        return [im.getAttribute('src'), Array.from(g.getImageData(3, 3, 1, 1).data)]; }""")


def test_widget_media_in_lab(nbtrack_home: Path, tmp_path: Path) -> None:
    require_chromium()
    marker = tmp_path / "media.json"
    with start_jupyter(tmp_path / "lab", nbtrack_home, app="jupyterlab") as jup:
        with chromium() as browser:
            page, errors = open_in_lab(browser, jup, _cells(marker), "media")
            entity, project, run_id = output_text(page, "IDS", 90).split("IDS", 1)[1].split()
            newest = _put_media(entity, project, run_id)
            base = f"{jup.base}nbtrack/api/runs/{entity}/{project}/{run_id}/files/"
            got = requests.get(base + newest["sample"]["path"], timeout=30,
                               headers={"Authorization": f"token {TOKEN}"})
            assert got.headers["Content-Type"] == "image/png", (got.status_code, got.text[:300])
            assert got.content[:4] == b"\x89PNG"
            svg = requests.get(base + "media/images/x.svg", timeout=30,
                               headers={"Authorization": f"token {TOKEN}"})
            assert svg.headers["Content-Type"] == "application/octet-stream"
            assert svg.headers["Content-Disposition"].startswith("attachment")
            tmp = marker.with_suffix(".tmp")
            tmp.write_text(json.dumps(newest))
            tmp.replace(marker)
            output_text(page, "MEDIA SET", 60)
            card = page.locator(".nbtrack-media-card[data-key='sample']")
            card.wait_for(state="attached", timeout=30_000)
            page.wait_for_function("""() => document.querySelector(
                ".nbtrack-media-card[data-key='sample']").dataset.step === '13'""",
                                   timeout=30_000)
            src, px = _shown(page)
            assert src.startswith(f"/user/alice/nbtrack/api/runs/{entity}/{project}/{run_id}/")
            assert src.endswith(newest["sample"]["path"]) and px[:3] == [40 * 13 - 350, 30, 90]
            card.locator("input.nbtrack-media-slider").evaluate(
                "(s) => { s.value = '1'; s.dispatchEvent(new Event('input')); }")
            page.wait_for_function("""() => document.querySelector(
                ".nbtrack-media-card[data-key='sample']").dataset.step === '11'""",
                                   timeout=30_000)
            src, px = _shown(page)
            assert src.endswith("sample_11_" + f"{11:020x}.png") and px[:3] == [90, 30, 90]
            assert card.locator("figcaption").inner_text() == "step 11"
            page.wait_for_function("""() => document.querySelector(
                ".nbtrack-media-card[data-key='weights']")?.dataset.steps === '4'""",
                                   timeout=30_000)
            page.locator(".nbtrack-widget").first.screenshot(path=str(IMG / "widget-media.png"))
        errors.check()

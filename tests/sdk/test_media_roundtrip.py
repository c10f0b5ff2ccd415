"""Media round trip: images, galleries, histograms and tables logged from the SDK come back
exact through ``nbtrack.Api`` after finish, in online, local and offline-then-sync modes.

Exact means: every image pixel-equal after PNG decode, table rows with the same values and
types (image cells as images), histograms with the same bins and counts. One scenario per
mode, several assertions each; the copy semantics are checked on the way (the caller
mutates its array after ``log()``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.client.media import HistogramValue, ImageFile, ImageGallery, PlotlyFile, TableFile

from helpers.server import RunningServer, start_server

pytest.importorskip("PIL", reason="the media extra (Pillow) is part of the test extra")
pytest.importorskip("plotly", reason="plotly is part of the test extra")

rng = np.random.default_rng(16)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    srv = start_server(tmp_path_factory.mktemp("media-server"))
    yield srv
    srv.stop()


def _log_media(run: nbtrack.Run, tmp: Path) -> dict[str, Any]:
    """Log every kind of media; what each should read back as."""
    from PIL import Image as PILImage

    rgb = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (9, 5), dtype=np.uint8)
    rgba = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    floats = rng.random((8, 8, 3))
    pil = PILImage.fromarray(rng.integers(0, 256, (5, 4, 3), dtype=np.uint8))
    png_path = tmp / "given.png"
    pil.save(png_path)
    expected_rgb = rgb.copy()
    run.log({"img": nbtrack.Image(rgb, caption="first"), "loss": 0.5})
    rgb[:] = 0  # the caller reuses its array: what was logged must not change
    samples = [rng.integers(0, 256, (4, 4, 3), dtype=np.uint8) for _ in range(3)]
    values = rng.normal(size=1000)
    counts, edges = np.histogram(values, bins=10)
    run.log({"img": nbtrack.Image(grey), "gallery": [nbtrack.Image(s, caption=f"s{i}")
                                                     for i, s in enumerate(samples)],
             "float_img": nbtrack.Image(floats), "rgba": nbtrack.Image(rgba),
             "pil": nbtrack.Image(pil), "from_path": nbtrack.Image(png_path),
             "ints": nbtrack.Image(grey.astype(np.int64)),
             "weights": nbtrack.Histogram(values, num_bins=20),
             "given_hist": nbtrack.Histogram(np_histogram=(counts, edges))})
    cell = rng.integers(0, 256, (3, 3, 3), dtype=np.uint8)
    rows = [[1, "one", True, None, nbtrack.Image(cell)],
            [2, "two", False, 2.5, nbtrack.Image(cell)]]
    run.log({"worst": nbtrack.Table(columns=["i", "name", "ok", "score", "image"], data=rows)})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1], [1, 0])
    plt.close(fig)  # closed before it is logged, as notebooks often do
    import plotly.graph_objects as go

    plot = go.Figure(go.Scatter(x=[1, 2, 3], y=[3.5, 1.0, 2.0], name="loss"))
    run.log({"figure": fig, "plot": plot}, step=3)
    plot_json = json.loads(plot.to_json())
    plot.data[0].y = [0, 0, 0]  # the caller changes its figure after log()
    fig.canvas.draw()
    np_hist = np.histogram(values, bins=20)
    return {"figure": np.asarray(fig.canvas.buffer_rgba()).copy(), "plot": plot_json,
            "rgb": expected_rgb,
            "grey": grey, "rgba": rgba, "samples": samples,
            "floats": np.rint(floats * 255).astype(np.uint8), "pil": np.asarray(pil),
            "weights": (np_hist[0].tolist(), np_hist[1].tolist()),
            "given": (counts.tolist(), edges.tolist()), "cell": cell}


def _check(api_run: nbtrack.ApiRun, want: dict[str, Any], tmp: Path) -> None:
    rows = api_run.history()
    assert [r["_step"] for r in rows] == [0, 1, 2, 3]
    first, second, third, fourth = rows
    figure = fourth["figure"]
    assert (figure.width, figure.height) == (100, 75)
    np.testing.assert_array_equal(figure.to_numpy(), want["figure"])
    plot = fourth["plot"]
    assert isinstance(plot, PlotlyFile) and plot["_type"] == "plotly-file"
    assert plot.path.startswith("media/plotly/plot_3_") and plot.path.endswith(".plotly.json")
    assert plot.to_dict() == want["plot"]
    assert list(plot.to_plotly().data[0].y) == [3.5, 1.0, 2.0]
    assert first["loss"] == 0.5
    img = first["img"]
    assert isinstance(img, ImageFile)
    assert img["_type"] == "image-file" and img.caption == "first"
    assert img.path.startswith("media/images/img_0_") and img.path.endswith(".png")
    assert (img.width, img.height, img["format"]) == (23, 17, "png")
    assert len(img["sha256"]) == 64 and img["size"] == len(img.read())
    np.testing.assert_array_equal(img.to_numpy(), want["rgb"])  # the copy, not the zeros
    np.testing.assert_array_equal(second["img"].to_numpy(), want["grey"])
    np.testing.assert_array_equal(second["ints"].to_numpy(), want["grey"])
    np.testing.assert_array_equal(second["rgba"].to_numpy(), want["rgba"])
    np.testing.assert_array_equal(second["float_img"].to_numpy(), want["floats"])
    np.testing.assert_array_equal(second["pil"].to_numpy(), want["pil"])
    np.testing.assert_array_equal(second["from_path"].to_numpy(), want["pil"])
    gallery = second["gallery"]
    assert isinstance(gallery, ImageGallery) and len(gallery) == 3
    assert gallery["_type"] == "images/separated" and gallery["captions"] == ["s0", "s1", "s2"]
    for got, sample in zip(gallery, want["samples"], strict=True):
        np.testing.assert_array_equal(got.to_numpy(), sample)
    hist = second["weights"]
    assert isinstance(hist, HistogramValue)
    assert (hist.values, hist.bins) == want["weights"]
    assert (second["given_hist"].values, second["given_hist"].bins) == \
        ([float(c) for c in want["given"][0]], want["given"][1])
    table = third["worst"]
    assert isinstance(table, TableFile)
    assert (table["ncols"], table["nrows"]) == (5, 2)
    assert table.path.startswith("media/table/worst_2_") and table.path.endswith(".table.json")
    df = table.to_pandas()
    assert list(df.columns) == ["i", "name", "ok", "score", "image"]
    assert df["i"].tolist() == [1, 2] and df["name"].tolist() == ["one", "two"]
    assert df["ok"].tolist() == [True, False]
    assert df["score"].tolist()[1] == 2.5 and df["score"].isna().tolist()[0]
    for cell in df["image"]:
        np.testing.assert_array_equal(cell.to_numpy(), want["cell"])
    saved = img.download(tmp / "dl")
    assert saved == tmp / "dl" / img.path and saved.read_bytes() == img.read()
    names = {f["name"] for f in api_run.files()}
    assert {img.path, table.path, *gallery["filenames"]} <= names


def test_online_round_trip(server: RunningServer, nbtrack_dir: Path, tmp_path: Path) -> None:
    run = nbtrack.init(project="media", mode="online", base_url=server.url,
                       api_key=server.token, console="off")
    want = _log_media(run, tmp_path)
    run.finish(quiet=True)
    assert run.state == "finished"
    api = nbtrack.Api(server.url, server.token)
    _check(api.run(run.path), want, tmp_path)
    # the media files were counted and uploaded before finish returned
    assert not list((run.dir / "media-tmp").glob("*"))


def test_offline_then_sync_round_trip(server: RunningServer, nbtrack_dir: Path,
                                      tmp_path: Path) -> None:
    run = nbtrack.init(project="media", mode="offline", console="off")
    want = _log_media(run, tmp_path)
    run.finish(quiet=True)
    assert sorted(p.name.split("_")[0] for p in (run.dir / "files/media/table").iterdir()) \
        == ["worst"]
    env = dict(os.environ, NBTRACK_BASE_URL=server.url, NBTRACK_API_KEY=server.token)
    done = subprocess.run([sys.executable, "-m", "nbtrack", "sync", str(run.log_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    api = nbtrack.Api(server.url, server.token)
    _check(api.run(run.path), want, tmp_path)


def test_local_round_trip(nbtrack_dir: Path, tmp_path: Path) -> None:
    run = nbtrack.init(project="media", mode="local", console="off")
    want = _log_media(run, tmp_path)
    run.finish(quiet=True)
    api = nbtrack.Api()  # the local server, found through the state file
    _check(api.run(run.path), want, tmp_path)

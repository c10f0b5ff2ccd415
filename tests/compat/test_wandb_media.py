"""Media logged by the official ``wandb`` client to nbtrack's server read back through
``nbtrack.Api``: the same history values and files nbtrack's own media use (``docs/media.md``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nbtrack
from nbtrack.client.media import HistogramValue, ImageFile, ImageGallery, TableFile

from .conftest import WandbClient

pytest.importorskip("PIL", reason="the media extra (Pillow) is part of the test extra")


def test_wandb_media_read_through_nbtrack_api(wandb_client: WandbClient) -> None:
    out = wandb_client.home / "logged.npz"
    res = wandb_client.script("wandb_media.py", "wandb-media", out)
    ids = json.loads(res.lines("RESULT")[-1])
    logged = np.load(out)
    api = nbtrack.Api(wandb_client.server.url, wandb_client.server.token)
    rows = api.run(f"{ids['entity']}/wandb-media/{ids['id']}").history()
    assert [r["_step"] for r in rows] == [0, 1, 2]
    img = rows[0]["img"]
    assert isinstance(img, ImageFile) and img.caption == "from wandb"
    assert img.path.startswith("media/images/img_0_")
    np.testing.assert_array_equal(img.to_numpy(), logged["rgb"])
    gallery = rows[1]["gallery"]
    assert isinstance(gallery, ImageGallery) and len(gallery) == 2
    got = [g.to_numpy() for g in gallery]
    np.testing.assert_array_equal(got[0], logged["rgb"])
    np.testing.assert_array_equal(got[1], logged["grey"])
    hist = rows[1]["hist"]
    assert isinstance(hist, HistogramValue)
    counts, edges = np.histogram(logged["values"], bins=16)
    assert hist.values == counts.tolist()
    assert hist.bins == pytest.approx(edges.tolist())
    table = rows[2]["table"]
    assert isinstance(table, TableFile)
    df = table.to_pandas()
    assert list(df.columns) == ["a", "b"]
    assert df.values.tolist() == [[1, "x"], [2, "y"]]

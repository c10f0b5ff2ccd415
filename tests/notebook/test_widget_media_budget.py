"""The widget's ``media`` trait: the newest media value of each key, from a real run's
summary, as paths and sizes only, so what the comm carries does not grow with the image."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from nbtrack.notebook.media import media_of
from nbtrack.notebook.ui import RunUpdater
from nbtrack.notebook.widget import RunWidget

from helpers.fakes import RecordingComm
from helpers.wait import wait_until


def _image(step: int, side: int) -> dict[str, Any]:
    return {"_type": "image-file", "path": f"media/images/sample_{step}_{step:020x}.png",
            "sha256": f"{step:064x}", "size": side * side * 3, "width": side, "height": side,
            "format": "png", "caption": f"step {step}"}


def test_media_of_keeps_what_is_drawn_only() -> None:
    hist = {"_type": "histogram", "bins": list(range(600)), "values": [1] * 599}
    got = media_of({"loss": 0.5, "sample": _image(3, 64), "w": hist, "cfg": {"a": 1},
                    "t": {"_type": "table-file", "path": "media/table/t.table.json",
                          "nrows": 2, "ncols": 3, "sha256": "x", "artifact_path": "a" * 300}})
    assert list(got) == ["sample", "t", "w"]
    assert got["sample"] == {"kind": "image", "_type": "image-file", "path": _image(3, 64)["path"],
                             "caption": "step 3", "width": 64, "height": 64, "format": "png"}
    assert got["t"] == {"kind": "table", "_type": "table-file", "path": "media/table/t.table.json",
                        "nrows": 2, "ncols": 3}
    assert len(got["w"]["bins"]) == 513 and len(got["w"]["values"]) == 512  # W&B's bin limit


@pytest.mark.parametrize("side", [64, 8192])
def test_media_trait_from_the_run_and_message_size(side: int, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A real offline run: the trait follows the summary's newest image at most once a
    second; a 64-pixel and an 8192-pixel image make the same messages, give or take digits."""
    import nbtrack

    monkeypatch.setenv("NBTRACK_DIR", str(tmp_path))
    run = nbtrack.init(project="media", mode="offline", name=f"media-{side}")
    w = RunWidget(run, start=False)
    rec = RecordingComm()
    w.comm = rec
    w.updater = RunUpdater(run, w)
    w.updater.start()
    start = time.monotonic()
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1)})
        run.summary.update({"sample": _image(step, side)})
        wait_until(lambda s=step: w.media.get("sample", {}).get("caption") == f"step {s}",  # type: ignore[misc]
                   timeout=10, message="the widget's media trait did not follow the summary")
    elapsed = time.monotonic() - start
    run.finish(quiet=True)
    assert w.updater.join(10)
    media_msgs = [m for m in rec.messages if "media" in m.get("state", {})]  # not the patches
    sizes = [len(json.dumps(m["state"]["media"])) for m in media_msgs]
    assert len(media_msgs) <= elapsed / 1.0 + 3  # at most one a second (and the final one)
    assert max(sizes) < 400, sizes  # a path, a caption, two sizes: never pixels
    assert w.media["sample"]["width"] == side and "sha256" not in w.media["sample"]
    w.close()

"""The media worker and the handler's resolver, with real threads and real files: W&B's
names, keys that cannot leave the run's files directory, a failed job dropped alone with a
warning naming its key, and a worker that ends on its end marker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nbtrack.pipeline.media.jobs import MEDIA_FLAG, MEDIA_TAG, ImageJob
from nbtrack.pipeline.media.resolve import MediaResolver, drop_media, safe_key
from nbtrack.pipeline.media.worker import MediaWorker

pytest.importorskip("PIL", reason="the media extra (Pillow) is part of the test extra")


@pytest.mark.parametrize(("key", "safe"), [
    ("loss", "loss"), ("val/sample", "val/sample"), ("../../etc/passwd", "_/_/etc/passwd"),
    ("a b/c:d", "a_b/c_d"), ("/abs//x/.", "_/abs/_/x/_"), ("é", "_"),
])
def test_safe_key(key: str, safe: str) -> None:
    assert safe_key(key) == safe


@pytest.mark.parametrize("use_process", [True, False], ids=["encoder-process", "in-thread"])
def test_worker_and_resolver(tmp_path: Path, use_process: bool) -> None:
    files = tmp_path / "files"
    worker = MediaWorker(tmp_path / "media-tmp", files, use_process=use_process)
    worker.start()
    warnings: list[str] = []
    resolve = MediaResolver(worker, files, warnings.append)
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    good = worker.submit(ImageJob(width=4, height=4, pixels=pixels, caption="c"))
    bad = worker.submit(ImageJob(width=4, height=4, pixels=np.zeros((4, 4, 3), np.complex64)))
    row = resolve({"x": 1.0, "../../up": (MEDIA_TAG, good), "broken": (MEDIA_TAG, bad),
                   MEDIA_FLAG: True}, 7)
    value = row["../../up"]
    assert value["path"].startswith("media/images/_/_/up_7_") and value["caption"] == "c"
    target = (files / value["path"]).resolve()
    assert files.resolve() in target.parents and target.stat().st_size == value["size"]
    assert row["x"] == 1.0 and "broken" not in row and MEDIA_FLAG not in row
    assert len(warnings) == 1 and "key 'broken' at step 7" in warnings[0]
    assert [f.name for f in resolve.take_files()] == [value["path"]]
    worker.end()
    assert worker.join(10)
    assert worker.encoded == 1 and worker.failed == 1
    assert worker.in_process == (2 if use_process else 0)
    assert worker._process is None and not worker._process_failed  # closed at END


def test_without_a_worker_the_media_is_dropped_with_its_keys_named() -> None:
    said: list[str] = []
    row = drop_media({"x": 2.0, "img": (MEDIA_TAG, 3), MEDIA_FLAG: True}, 4, said.append)
    assert row == {"x": 2.0}
    assert "img" in said[0] and "step 4" in said[0]


def test_a_dead_encoder_process_falls_back_to_the_thread(tmp_path: Path) -> None:
    worker = MediaWorker(tmp_path / "media-tmp", tmp_path / "files")
    worker.start()
    pixels = np.zeros((3, 3, 1), np.uint8)  # jobs are H x W x C (the SDK reshapes)
    first = worker.take(worker.submit(ImageJob(width=3, height=3, pixels=pixels)), 60)
    assert worker.in_process == 1 and worker._process is not None
    proc = worker._process._proc
    assert proc is not None
    proc.kill()  # the child dies between batches
    proc.wait(10)
    second = worker.take(worker.submit(ImageJob(width=3, height=3, pixels=pixels)), 60)
    assert not isinstance(first, Exception) and not isinstance(second, Exception), second
    assert first.sha256 == second.sha256 and second.tmp.is_file()
    assert worker._process_failed and worker.in_process == 1
    worker.end()
    assert worker.join(10)

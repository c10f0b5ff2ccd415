"""FilePusher worker: createRunFiles + PUT, byte counters, join markers, failures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtrack.pipeline.sender.filepusher import FilePusher
from nbtrack.pipeline.sender.filestream_wire import RunIdentity
from nbtrack.proto import nbtrack_pb2 as pb

from helpers.fakewandb import FakeWandb, make_transport


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


def files(tmp_path: Path, n: int) -> list[pb.FileItem]:
    out = []
    for i in range(n):
        p = tmp_path / f"file{i}.txt"
        p.write_bytes(b"%d" % i * (10 * (i + 1)))
        out.append(pb.FileItem(path=str(p), name=f"sub/file{i}.txt"))
    return out


def test_uploads_wait_for_the_run_then_join(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    fp = FilePusher(t)
    fp.start()
    items = files(tmp_path, 3)
    fp.push(items)
    joined = threading.Event()
    fp.join_marker(joined.set)
    assert fp.counters() == (0, 60, 0, 3)
    assert not joined.wait(0.3)  # no run yet: nothing uploaded
    assert fake.uploads == {}
    fp.set_run(RunIdentity("me", "p", "r1"))
    assert joined.wait(5)
    assert fp.counters() == (60, 60, 3, 3)
    assert fp.ok
    assert fake.uploads["sub/file0.txt"] == b"0" * 10
    assert fake.uploads["sub/file2.txt"] == b"2" * 30
    ops = [v for op, v in fake.graphql_ops if op == "CreateRunFiles"]
    assert ops == [
        {
            "entity": "me",
            "project": "p",
            "run": "r1",
            "files": ["sub/file0.txt", "sub/file1.txt", "sub/file2.txt"],
        }
    ]
    fp.end()
    assert fp.join(5)
    t.close()


def test_failures_are_counted_and_join_still_answers(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    fp = FilePusher(t)
    fp.start()
    fp.set_run(RunIdentity("me", "p", "r1"))
    items = files(tmp_path, 2)
    items.append(pb.FileItem(path=str(tmp_path / "missing.txt"), name="missing.txt"))
    fake.inject("upload", 413)  # the first PUT is refused for good
    fp.push(items)
    joined = threading.Event()
    fp.join_marker(joined.set)
    assert joined.wait(5)
    up, _total, nup, ntotal = fp.counters()
    assert ntotal == 3 and nup == 1 and up == 20
    assert fp.failed_files == 2 and not fp.ok
    snap = t.status.snapshot()
    assert snap["state"] == "failed" and snap["failed_files"] == 2
    assert "sig=" not in snap["error"]  # signed URLs are not shown
    fp.end()
    assert fp.join(5)
    t.close()


def test_run_failed_fails_files_and_stop_is_prompt(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    fp = FilePusher(t)
    fp.start()
    fp.push(files(tmp_path, 1))
    joined = threading.Event()
    fp.join_marker(joined.set)
    fp.set_run(None)
    assert joined.wait(5)
    assert fp.failed_files == 1 and fake.uploads == {}
    fp.end()
    assert fp.join(5)
    t.close()


def test_closed_transport_releases_a_waiting_pusher(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    fp = FilePusher(t)
    fp.start()
    fp.push(files(tmp_path, 1))
    fp.end()
    t.close()
    assert fp.join(3)

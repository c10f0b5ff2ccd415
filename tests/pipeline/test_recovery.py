"""The write-ahead ring under a real Stream, and completing a log from it.

What a SIGKILL leaves is the page cache: the log and ring files as they are at that
instant. ``snapshot`` copies both while the stream still runs (a copy holds no lock), which
is that state without killing the test process; tests/reliability/test_kill_anywhere.py
does it with real kills.
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nbtrack.pipeline.config import PipelineConfig
from nbtrack.pipeline.interface import LogWriteError
from nbtrack.pipeline.recovery import complete_log
from nbtrack.pipeline.ringqueue import RingQueue
from nbtrack.pipeline.stream import Stream
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import LogWriter, read_records
from nbtrack.txlog.ring import RingFile, read_ring, ring_path_for
from nbtrack.txlog.verify import format_report, verify

from helpers.wait import wait_until


def start(tmp_path: Path, **config: Any) -> Stream:
    stream = Stream(PipelineConfig(**config), tmp_path / "live" / "run-r1.nbtrack", None)
    stream.log_path.parent.mkdir()
    stream.start()
    stream.interface.publish_run(pb.RunRecord(run_id="r1", project="p", start_time=1000.0,
                                              config_json='{"lr": 0.5}'))
    return stream


def snapshot(stream: Stream, dest: Path) -> Path:
    dest.mkdir()
    log = dest / stream.log_path.name
    shutil.copyfile(stream.log_path, log)
    shutil.copyfile(ring_path_for(stream.log_path), ring_path_for(log))
    return log


def history(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for rec in read_records(path):
        if rec.WhichOneof("record_type") == "history":
            rows.extend(json.loads(t) for t in rec.history.rows)
    return rows


def kinds(path: Path) -> list[str]:
    return [rec.WhichOneof("record_type") or "" for rec in read_records(path)]


class RefusingLog(LogWriter):
    """A disk that takes the log's header and nothing after it (full)."""

    def flush(self) -> None:
        if self.flushed_offset and self.pending_bytes:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().flush()


def test_nothing_reached_the_log_everything_is_recovered_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbtrack.pipeline.writer as writer_mod

    monkeypatch.setattr(writer_mod, "LogWriter", RefusingLog)
    stream = start(tmp_path)
    iface = stream.interface
    for i in range(1000):
        iface.publish_log({"i": i}, None, True)
    iface.publish_config({"batch": 32})
    iface.publish_summary({"best": 0.9})
    iface.publish_log({"late": 1.0}, 1500, False)  # open at step 1500, not committed
    handler = stream.handler
    assert handler is not None
    wait_until(lambda: len(stream.record_q) == 0 and stream.writer is not None
               and stream.writer.failing, 10, message="the pipeline did not catch up")
    log = snapshot(stream, tmp_path / "killed")
    stream.close(2)
    assert history(log) == []  # the disk took nothing
    before = verify(log)
    assert before.ring_rows == 1001 and not before.ring_live
    assert "1,001 log() calls) not in the log: `nbtrack sync` adds them" in format_report(before)
    result = complete_log(log)
    assert result.found and not result.live and not result.problems
    assert result.rows == 1001
    rows = history(log)
    assert [r["i"] for r in rows[:1000]] == list(range(1000))
    assert [r["_step"] for r in rows] == [*range(1000), 1500]
    assert rows[-1]["late"] == 1.0  # the open row is committed: it was accepted
    records = list(read_records(log))
    config = [r.config.full_json for r in records if r.WhichOneof("record_type") == "config"]
    assert config and json.loads(config[-1]) == {"lr": 0.5, "batch": 32}
    summaries = [json.loads(r.summary.full_json) for r in records
                 if r.WhichOneof("record_type") == "summary" and r.summary.full_json]
    assert summaries[-1]["best"] == 0.9 and summaries[-1]["late"] == 1.0
    assert not ring_path_for(log).exists()  # all in the fsynced log: the ring is gone
    assert not complete_log(log).found  # a second run adds nothing
    assert verify(log).ring_pending is None
    assert len(history(log)) == 1001


def test_an_open_row_holds_the_watermark_and_is_recovered_whole(tmp_path: Path) -> None:
    stream = start(tmp_path)
    iface = stream.interface
    for i in range(100):
        iface.publish_log({"i": i}, None, True)
    iface.publish_log({"a": 1}, 100, False)
    iface.publish_log({"b": 2}, 100, False)  # merged into the open row
    iface.publish_config({"after": True})  # in the log, while the row stays open
    assert stream.writer is not None
    wait_until(lambda: len(stream.record_q) == 0, 10, message="the handler did not catch up")
    handle = iface.deliver_flush()
    assert handle.wait(5) is not None
    wait_until(lambda: stream.writer is not None and stream.writer.bytes_written
               == stream.writer.bytes_appended, 10, message="the writer did not flush")
    log = snapshot(stream, tmp_path / "killed")
    stream.close(2)
    assert len(history(log)) == 100
    records = list(read_records(log))
    config = [r for r in records if r.WhichOneof("record_type") == "config"][-1]
    assert config.ring_entry > config.ring_seq  # in the log, above the held watermark
    result = complete_log(log)
    assert result.rows == 2 and result.added == 2  # the config is not added twice
    rows = history(log)
    assert [r["_step"] for r in rows] == list(range(101))
    assert rows[-1]["a"] == 1 and rows[-1]["b"] == 2
    assert kinds(log).count("config") == 1


def test_a_clean_close_deletes_the_ring(tmp_path: Path) -> None:
    stream = start(tmp_path)
    for i in range(5000):
        stream.interface.publish_log({"i": i}, None, True)
    ring = ring_path_for(stream.log_path)
    assert ring.exists()
    report = stream.close(10)
    assert report.clean and not report.ring_kept
    assert not ring.exists()
    assert [r["i"] for r in history(stream.log_path)] == list(range(5000))
    assert max(r.ring_seq for r in read_records(stream.log_path)) >= 5000


def test_log_raises_when_the_disk_refuses_and_the_ring_is_full(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbtrack.pipeline.writer as writer_mod

    monkeypatch.setattr(writer_mod, "LogWriter", RefusingLog)
    stream = start(tmp_path, ring_bytes=256 * 1024)
    accepted = 0
    row = {"text": "x" * 500}
    with pytest.raises(LogWriteError, match=r"cannot be written .*No space left.*nbtrack sync"):
        for _ in range(100_000):
            stream.interface.publish_log(row, None, True)
            accepted += 1
    assert 0 < accepted < 1000
    log = snapshot(stream, tmp_path / "killed")
    stream.close(2)
    _, entries = read_ring(ring_path_for(log))
    assert sum(1 for e in entries if e.kind == 1) == accepted  # every accepted call is kept
    complete_log(log)
    assert len(history(log)) == accepted


def test_ring_queue_keeps_requests_in_order_with_rows(tmp_path: Path) -> None:
    """Requests are not data (deque only) but stay in order with the rows; each item
    carries the seq of the last durable entry at or before it; urgent ones go first."""
    q = RingQueue(RingFile(tmp_path / "q.ring", 64 * 1024), 1 << 20)
    q.put_row({"a": 1}, None, True)
    q.put("request", 10)
    q.put_row({"a": 2}, None, True)
    q.put_front("urgent", 10)
    batch = q.get_batch(10)
    assert [(type(item).__name__, seq) for item, seq in batch] == [
        ("str", 0), ("tuple", 1), ("str", 1), ("tuple", 2)]
    assert batch[0][0] == "urgent" and batch[2][0] == "request"
    assert batch[1][0][0] == {"a": 1} and batch[3][0][0] == {"a": 2}
    q.finish_ring()
    _, entries = read_ring(tmp_path / "q.ring")
    assert [e.seq for e in entries] == [1, 2]  # the requests are not in the ring

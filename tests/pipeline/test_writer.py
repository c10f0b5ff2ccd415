"""The Writer stage thread."""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from nbtrack.pipeline.queues import ByteQueue
from nbtrack.pipeline.writer import Writer
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import LogReader, LogWriter, read_records

from helpers.wait import never_within, wait_until

FLUSH_FINAL = pb.DeferRequest.FLUSH_FINAL


class Responses:
    def __init__(self) -> None:
        self.results: list[pb.Result] = []
        self.event = threading.Event()

    def __call__(self, result: pb.Result) -> None:
        self.results.append(result)
        self.event.set()


def history(num: int, rows: int = 1) -> pb.Record:
    return pb.Record(
        num=num,
        history=pb.HistoryRecord(
            rows=[f'{{"_step": {num}, "x": {i}}}' for i in range(rows)],
            first_step=num,
            last_step=num,
        ),
    )


def put(q: ByteQueue, record: pb.Record) -> None:
    q.put(record, record.ByteSize() + 64)


def make(tmp_path: Path, **kw: float) -> tuple[ByteQueue, Writer, Responses, Path]:
    q = ByteQueue(64 * 1024 * 1024, "writer_q")
    resp = Responses()
    path = tmp_path / "run-x.nbtrack"
    w = Writer(q, path, resp, **kw)  # type: ignore[arg-type]
    return q, w, resp, path


def test_records_in_order_and_end_closes(tmp_path: Path) -> None:
    q, w, _, path = make(tmp_path)
    w.start()
    w.start()  # twice is harmless
    sent = [history(i, rows=i % 7) for i in range(1, 2001)]
    for r in sent:
        put(q, r)
    q.put_end()
    assert w.join(10)
    assert w.join(1)
    assert w.closed and w.error is None
    got = list(read_records(path))
    assert got == sent
    assert w.records_written == 2000
    assert w.bytes_written == path.stat().st_size == w.bytes_appended
    assert not [t for t in threading.enumerate() if t.name == "nbtrack-writer"]


def test_requests_and_local_records_not_written(tmp_path: Path) -> None:
    q, w, resp, path = make(tmp_path)
    w.start()
    put(q, history(1))
    put(q, pb.Record(request=pb.Request(poll_exit=pb.PollExitRequest())))
    put(q, pb.Record(request=pb.Request(defer=pb.DeferRequest(state=pb.DeferRequest.FLUSH_FS))))
    put(q, pb.Record(control=pb.Control(local=True), output=pb.OutputRecord(line="local")))
    put(q, pb.Record(num=2, output=pb.OutputRecord(line="kept")))
    q.put_end()
    assert w.join(10)
    got = list(read_records(path))
    assert [r.WhichOneof("record_type") for r in got] == ["history", "output"]
    assert got[1].output.line == "kept"
    assert resp.results == []  # only FLUSH_FINAL is answered by the writer


def test_flush_final_answered_after_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    q, w, resp, path = make(tmp_path)
    fsynced: list[int] = []
    real_fsync = os.fsync

    def spy_fsync(fd: int) -> None:
        real_fsync(fd)
        fsynced.append(os.fstat(fd).st_size)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    w.start()
    for i in range(1, 101):
        put(q, history(i))
    req = pb.Record(
        control=pb.Control(mailbox_slot="slot-7", req_resp=True),
        request=pb.Request(defer=pb.DeferRequest(state=FLUSH_FINAL)),
    )
    put(q, req)
    assert resp.event.wait(5)
    # answered after an fsync that covered everything published before the request
    assert fsynced and fsynced[0] == path.stat().st_size
    assert len(list(LogReader(path))) == 100
    result = resp.results[0]
    assert result.mailbox_slot == "slot-7"
    assert result.WhichOneof("result_type") == "defer"
    assert result.defer.state == FLUSH_FINAL
    q.put_end()
    assert w.join(5)


def test_unwritable_directory_raises_at_start(tmp_path: Path) -> None:
    q = ByteQueue(1024, "writer_q")
    missing = tmp_path / "no" / "such" / "dir" / "run.nbtrack"
    w = Writer(q, missing, Responses())
    with pytest.raises(OSError, match=r"run\.nbtrack") as info:
        w.start()
    assert "transaction log" in str(info.value)
    assert w.join(0.1)  # never started: nothing to wait for

    if sys.platform != "win32" and os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match="ro"):
                Writer(q, ro / "run.nbtrack", Responses()).start()
        finally:
            ro.chmod(0o700)


def test_existing_log_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "run.nbtrack"
    path.write_bytes(b"keep me")
    w = Writer(ByteQueue(1024, "q"), path, Responses())
    with pytest.raises(FileExistsError, match="already exists"):
        w.start()
    assert path.read_bytes() == b"keep me"


class BusyQueue:
    """A queue that is never idle: every batch takes 50 ms and more is always waiting."""

    def __init__(self) -> None:
        self.num = 0
        self.ended = threading.Event()

    def get_batch(self, max_items: int = 1024, timeout: float | None = None) -> list[object]:
        if self.ended.is_set():
            from nbtrack.pipeline.queues import END

            return [END]
        time.sleep(0.05)  # why: the busy stage's work itself; the queue never runs dry
        out: list[object] = []
        for _ in range(10):
            self.num += 1
            out.append(history(self.num))
        return out

    def __len__(self) -> int:
        return 1000


def test_time_based_flush_while_queue_never_idle(tmp_path: Path) -> None:
    q = BusyQueue()
    path = tmp_path / "run.nbtrack"
    w = Writer(q, path, Responses(), flush_bytes=1 << 40)  # type: ignore[arg-type]
    t0 = time.monotonic()
    w.start()
    try:
        # another handle, no END yet
        wait_until(lambda: sum(1 for _ in LogReader(path)), 3.0,
                   message="nothing reached the file while the queue stayed busy")
        elapsed = time.monotonic() - t0
        assert 0.5 < elapsed < 1.8, elapsed  # the 1 s rule, not an idle flush
    finally:
        q.ended.set()
        assert w.join(5)


def test_data_visible_while_running(tmp_path: Path) -> None:
    """A real producer: another handle sees data on disk while the writer runs."""
    q, w, _, path = make(tmp_path)
    w.start()
    stop = threading.Event()

    def producer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            # keep a backlog so the writer never finds its queue idle
            while len(q) < 500 and not stop.is_set():
                put(q, history(i, rows=3))
                i += 1
            stop.wait(0.001)  # why: a producer that paces itself, so the writer drains

    t = threading.Thread(target=producer, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        # another handle, writer still running, no END
        wait_until(lambda: sum(1 for _ in LogReader(path)), 3.0, message="nothing on disk")
        assert time.monotonic() - t0 < 2.0
        assert w.alive
    finally:
        stop.set()
        t.join(5)
        q.put_end()
        assert w.join(10)


def test_flushes_when_idle(tmp_path: Path) -> None:
    q, w, _, path = make(tmp_path, flush_interval=30.0)
    w.start()
    put(q, history(1))
    wait_until(lambda: list(LogReader(path)), 2.0, message="an idle queue was not flushed")
    assert len(list(LogReader(path))) == 1  # idle queue: flushed without waiting 30 s
    q.put_end()
    assert w.join(5)


class FailingLog(LogWriter):
    """A log whose disk is full until ``healthy`` is set."""

    healthy = False

    def flush(self) -> None:
        if not self.healthy and self.flushed_offset and self.pending_bytes:
            raise OSError(errno.ENOSPC, "No space left on device")
        super().flush()


def test_disk_full_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import nbtrack.pipeline.writer as writer_mod

    monkeypatch.setattr(writer_mod, "LogWriter", FailingLog)
    q, w, resp, path = make(tmp_path, flush_interval=0.05)
    caplog.set_level(logging.DEBUG, logger="nbtrack.pipeline.writer")
    w.start()
    for i in range(1, 51):
        put(q, history(i))
    put(
        q,
        pb.Record(
            control=pb.Control(mailbox_slot="s"),
            request=pb.Request(defer=pb.DeferRequest(state=FLUSH_FINAL)),
        ),
    )
    assert resp.event.wait(5)  # still answered: the pipeline never blocks on the disk
    assert isinstance(w.error, OSError) and w.error.errno == errno.ENOSPC
    assert w.failing and w.alive
    assert any("No space left" in r.getMessage() for r in caplog.records)
    # the disk recovers: the buffered records reach the file, in order
    FailingLog.healthy = True
    try:
        put(q, history(51))
        q.put_end()
        assert w.join(5)
    finally:
        FailingLog.healthy = False
    assert [r.num for r in read_records(path)] == list(range(1, 52))
    assert not w.failing and w.error is not None  # the error stays visible


def test_disk_full_stops_taking_records_and_drops_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past max_pending_bytes of unwritten log the writer takes nothing more (its input
    fills, so the pipeline waits: the ring keeps what log() accepted); none is dropped,
    and once the disk takes data again all of them are written, in order."""
    import nbtrack.pipeline.writer as writer_mod

    monkeypatch.setattr(writer_mod, "LogWriter", FailingLog)
    q, w, _, path = make(tmp_path, max_pending_bytes=20_000, flush_interval=0.05,
                         max_batch=10)
    w.start()
    try:
        for i in range(1, 501):
            put(q, history(i, rows=5))
        wait_until(lambda: w.failing, 5, message="the disk error was not noticed")
        assert never_within(lambda: len(q) < 300, 0.5)  # it takes nothing it cannot write
        FailingLog.healthy = True
        q.put_end()
        assert w.join(10)
    finally:
        FailingLog.healthy = False
    assert [r.num for r in read_records(path)] == list(range(1, 501))
    assert w.closed and w.unwritten_bytes == 0


def test_queue_closed_without_end_stops(tmp_path: Path) -> None:
    q, w, _, path = make(tmp_path)
    w.start()
    put(q, history(1))
    wait_until(lambda: len(q) == 0, 5, message="the writer never took the record")
    q.close()
    assert w.join(5)
    assert len(list(LogReader(path))) == 1

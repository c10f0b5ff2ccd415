"""The Writer stage: one thread that owns the run's transaction log.

It takes records from its input queue in batches, appends every persisted
record (not a request, not ``control.local``) to the log, hands the buffer to
the OS at least once a second and whenever its queue runs idle, answers
``defer FLUSH_FINAL`` after an fsync, and on ``END`` flushes, fsyncs and closes.

Disk trouble (ENOSPC, EIO, ...) never stops the pipeline: the error is logged
and kept in ``error``, unwritten bytes stay buffered and are retried at most
once a second (``failing`` is True meanwhile); beyond ``max_pending_bytes`` of
unwritten data further records are dropped and counted in ``records_dropped``
(their ``num`` gap shows in the log) so memory stays bounded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack.pipeline.queues import END, ByteQueue
from nbtrack.pipeline.stagethread import StageThread
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import LogWriter

__all__ = ["Writer"]

log = logging.getLogger("nbtrack.pipeline.writer")

_FLUSH_FINAL = pb.DeferRequest.FLUSH_FINAL


class Writer:
    """Appends the pipeline's persisted records to ``path`` (see docs/contracts.md)."""

    name = "writer"

    def __init__(
        self,
        inq: ByteQueue,
        path: Path,
        respond: Callable[[pb.Result], None],
        *,
        flush_interval: float = 1.0,
        max_batch: int = 4096,
        flush_bytes: int = 4 * 1024 * 1024,
        max_pending_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._inq = inq
        self.path = Path(path)
        self._respond = respond
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._flush_bytes = flush_bytes
        self._max_pending = max_pending_bytes
        self._log: LogWriter | None = None
        self._thread = StageThread(self._run, "nbtrack-writer")
        self._lock = threading.Lock()
        self._last_flush = 0.0
        self._retry_at = 0.0  # after a disk error: no new write attempt before this
        self._dropping = False
        self.error: BaseException | None = None  # the latest disk error (kept after recovery)
        self.failing = False  # the last write attempt failed
        self.errors = 0  # number of failed write / fsync / close attempts
        self.records_written = 0  # records appended to the log
        self.records_dropped = 0  # records given up because the disk kept failing
        self.closed = False  # the log was closed after END

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Create the log (in the caller's thread, so errors surface here) and start."""
        with self._lock:
            if self._thread.started:
                return
            try:
                self._log = LogWriter(self.path)
            except OSError as exc:
                what = (
                    "already exists"
                    if isinstance(exc, FileExistsError)
                    else exc.strerror or str(exc)
                )
                raise type(exc)(
                    exc.errno, f"cannot create the transaction log ({what})", str(self.path)
                ) from exc
            self._last_flush = time.monotonic()
            self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True when it ended (or never started) in time."""
        return self._thread.join(timeout)

    def left(self) -> str:
        n = len(self._inq)
        pending = self._log.pending_bytes if self._log is not None else 0
        parts = [f"{n} records not written"] if n else []
        if pending:
            parts.append(f"{pending} bytes not on disk")
        return ", ".join(parts)

    @property
    def bytes_written(self) -> int:
        """Bytes of the log handed to the OS (header included)."""
        return 0 if self._log is None else self._log.flushed_offset

    @property
    def bytes_appended(self) -> int:
        """Size of the log including what is still buffered."""
        return 0 if self._log is None else self._log.offset

    @property
    def alive(self) -> bool:
        return self._thread.alive

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        lw = self._log
        assert lw is not None
        inq = self._inq
        get_batch = inq.get_batch
        try:
            while True:
                batch = get_batch(self._max_batch, timeout=self._flush_interval)
                if not batch:
                    if inq.closed and len(inq) == 0:
                        log.debug("writer queue closed without END; closing %s", self.path)
                        break
                    self._flush()
                    continue
                if self._process(lw, batch):
                    break
                now = time.monotonic()
                if lw.pending_bytes and (
                    now - self._last_flush >= self._flush_interval or len(inq) == 0
                ):
                    self._flush(now)
        except BaseException as exc:  # never raise out of the thread
            log.exception("writer stopped by an unexpected error")
            self._note_error(exc)
        self._finish()

    def _process(self, lw: LogWriter, batch: list[Any]) -> bool:
        """Handle one batch; True when it contained END."""
        append = lw.append
        for item in batch:
            if item is END:
                return True
            try:
                which = item.WhichOneof("record_type")
                if which == "request":
                    self._request(item)
                    continue
                if item.control.local:
                    continue
                data = item.SerializeToString()
            except Exception as exc:  # not a Record, or a broken one: skip it, keep going
                log.error("writer skipped an item it cannot serialize: %r (%s)", type(item), exc)
                continue
            if self._dropping or lw.pending_bytes > self._max_pending:
                self._drop()
                continue
            append(data)
            self.records_written += 1
            if lw.pending_bytes >= self._flush_bytes:
                self._flush()
        return False

    def _request(self, record: pb.Record) -> None:
        req = record.request
        if req.WhichOneof("request_type") != "defer" or req.defer.state != _FLUSH_FINAL:
            return
        self._flush(fsync=True, force=True)
        try:
            self._respond(
                pb.Result(
                    mailbox_slot=record.control.mailbox_slot,
                    defer=pb.DeferResponse(state=_FLUSH_FINAL),
                )
            )
        except Exception:
            log.exception("respond() failed for defer FLUSH_FINAL")

    def _drop(self) -> None:
        if not self.records_dropped:
            log.error(
                "transaction log %s: %d bytes could not be written (%s); dropping records "
                "until the disk accepts data again",
                self.path,
                self._log.pending_bytes if self._log else 0,
                self.error,
            )
        self.records_dropped += 1
        # Try to drain the backlog now and then; stop dropping once it is small again.
        self._flush()
        lw = self._log
        self._dropping = lw is not None and lw.pending_bytes > self._max_pending // 2

    # ------------------------------------------------------------------ disk I/O

    def _flush(self, now: float | None = None, *, fsync: bool = False, force: bool = False) -> None:
        lw = self._log
        if lw is None or lw.closed:
            return
        if now is None:
            now = time.monotonic()
        if not force and self.failing and now < self._retry_at:
            return  # a recent write failed: do not hammer the disk
        if not fsync and not lw.pending_bytes:
            self._last_flush = now
            return
        try:
            if fsync:
                lw.fsync()
            else:
                lw.flush()
        except OSError as exc:
            self._note_error(exc)
            self._retry_at = now + self._flush_interval
        else:
            if self.failing:
                log.warning("transaction log %s: writing works again", self.path)
                self.failing = False
                self._dropping = False
        self._last_flush = now

    def _note_error(self, exc: BaseException) -> None:
        first = not self.failing
        self.failing = True
        self.error = exc
        self.errors += 1
        if first:
            pending = self._log.pending_bytes if self._log is not None else 0
            log.error(
                "cannot write the transaction log %s: %s (%d bytes kept in memory, retrying)",
                self.path,
                exc,
                pending,
            )
        else:
            log.debug("transaction log %s still failing: %s", self.path, exc)

    def _finish(self) -> None:
        lw = self._log
        if lw is None or lw.closed:
            return
        self._flush(fsync=True, force=True)
        try:
            lw.close()
        except OSError as exc:
            self._note_error(exc)
        if lw.pending_bytes:
            log.error(
                "transaction log %s closed with %d bytes that could not be written",
                self.path,
                lw.pending_bytes,
            )
        self.closed = True

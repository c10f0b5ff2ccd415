"""The Writer stage: one thread that owns the run's transaction log.

It takes records from its input queue in batches, appends every persisted
record (not a request, not ``control.local``) to the log, hands the buffer to
the OS at least once a second, whenever its queue runs idle and whenever half the
write-ahead ring waits for it, answers ``defer FLUSH_FINAL`` after an fsync, and on
``END`` flushes, fsyncs and closes.

The write-ahead ring (:mod:`nbtrack.pipeline.ringqueue`): once the log's bytes are
handed to the OS, the ring entries they hold are released (``ring_seq`` of the records
written). The log is fsynced every ``fsync_interval`` seconds and at finish; the ring's
header notes each fsync point (what survives a machine crash, docs/reliability.md).

Disk trouble (ENOSPC, EIO, ...) never stops the pipeline and never drops a record:
the error is logged, kept in ``error`` and told to the user once through ``warn``;
unwritten bytes stay buffered and are retried at most once a second (``failing`` is
True meanwhile). Past ``max_pending_bytes`` of unwritten data the writer stops taking
records, so the handler, then ``log()``, wait: the ring still holds everything not
written (it is allocated up front), and ``log()`` raises once the ring is full.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack.pipeline.queues import END, ByteQueue
from nbtrack.pipeline.ringqueue import RingQueue
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
        ring: RingQueue | None = None,
        warn: Callable[[str], None] | None = None,
        flush_interval: float = 1.0,
        fsync_interval: float = 5.0,
        max_batch: int = 4096,
        flush_bytes: int = 1024 * 1024,
        max_pending_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self._inq = inq
        self.path = Path(path)
        self._respond = respond
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._flush_bytes = flush_bytes
        self._max_pending = max_pending_bytes
        self._ring = ring
        self._warn = warn
        self._fsync_interval = fsync_interval
        self._last_fsync = 0.0
        self._last_release = 0.0
        self._appended_seq = 0  # the highest ring_seq appended to the log
        self._fsynced = 0  # log offset of the last fsync
        self._log: LogWriter | None = None
        self._thread = StageThread(self._run, "nbtrack-writer")
        self._lock = threading.Lock()
        self._last_flush = 0.0
        self._retry_at = 0.0  # after a disk error: no new write attempt before this
        self.error: BaseException | None = None  # the latest disk error (kept after recovery)
        self.failing = False  # the last write attempt failed
        self.errors = 0  # number of failed write / fsync / close attempts
        self.records_written = 0  # records appended to the log
        self.closed = False  # the log was closed after END
        self.ring_kept = False  # closed with ring entries not in the log (ring file kept)

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
            self._last_flush = self._last_fsync = time.monotonic()
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
                if lw.pending_bytes > self._max_pending:
                    # the disk refuses: take nothing more (the ring keeps it), retry
                    self._flush(force=True)
                    if lw.pending_bytes > self._max_pending:
                        time.sleep(self._flush_interval)  # why: a retry rate, not a wait
                        continue
                batch = get_batch(self._max_batch, timeout=self._flush_interval)
                if not batch:
                    if inq.closed and len(inq) == 0:
                        log.debug("writer queue closed without END; closing %s", self.path)
                        break
                    now = time.monotonic()
                    self._flush(now, fsync=now - self._last_fsync >= self._fsync_interval)
                    continue
                if self._process(lw, batch):
                    break
                now = time.monotonic()
                if lw.pending_bytes and (
                    now - self._last_flush >= self._flush_interval or len(inq) == 0
                    or (self._ring is not None and self._ring.ring_pressure())
                ):
                    self._flush(now)
                if now - self._last_fsync >= self._fsync_interval:
                    self._flush(now, fsync=True)
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
            append(data)
            self.records_written += 1
            if item.ring_seq > self._appended_seq:
                self._appended_seq = item.ring_seq
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
        if fsync and not force and not lw.pending_bytes and lw.flushed_offset == self._fsynced:
            self._last_fsync = now  # nothing new since the last fsync
            return
        seq = self._appended_seq  # what this flush makes durable, if it empties the buffer
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
                self._say(f"the transaction log {self.path} is written again")
            ring = self._ring
            if ring is not None and not lw.pending_bytes and (
                    fsync or ring.wants_release() or now - self._last_release >= 0.25):
                # not after every flush: each release takes record_q's lock, which log()
                # holds on every call; space is only needed once a quarter of the ring is used
                ring.release_through(seq)
                self._last_release = now
                if fsync:
                    ring.note_fsync(seq, lw.flushed_offset)
            if fsync:
                self._last_fsync = now
                self._fsynced = lw.flushed_offset
        self._last_flush = now

    def _say(self, message: str) -> None:
        if self._warn is not None:
            try:
                self._warn(message)
            except Exception:
                log.exception("writer: warn callback failed")

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
            where = (f" in the write-ahead ring {self._ring.ring.path}"
                     if self._ring is not None and self._ring.ring is not None else "")
            reason = getattr(exc, "strerror", None) or str(exc)
            self._say(f"cannot write the transaction log {self.path} ({reason}): what you "
                      f"log is kept{where} until the disk takes it again; when that is full, "
                      "log() raises")
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
        ring = self._ring
        if ring is not None:
            # every entry in the log: the ring is not needed any more; else keep it for sync
            self.ring_kept = not ring.finish_ring()
        self.closed = True

    @property
    def unwritten_bytes(self) -> int:
        """Log bytes that could not be handed to the OS (after close: lost unless the ring
        file still holds their entries, see ``ring_kept``)."""
        return 0 if self._log is None else self._log.pending_bytes

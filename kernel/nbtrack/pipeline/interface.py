"""The user side of the pipeline: publishes records, delivers requests through the mailbox.

``publish_log`` is the hot path of every ``run.log`` call: the row goes into the
write-ahead ring (durable against a process kill when it returns) and onto the handler's
queue; steps, JSON and everything else happen in the handler thread.
"""

from __future__ import annotations

import json
import os
import weakref
from typing import Any

from nbtrack.pipeline.mailbox import Mailbox, MailboxHandle
from nbtrack.pipeline.media.jobs import MEDIA_TAG, Job
from nbtrack.pipeline.media.worker import MediaWorker
from nbtrack.pipeline.queues import ByteQueue, QueueClosed
from nbtrack.pipeline.ringqueue import RingQueue
from nbtrack.proto import nbtrack_pb2 as pb


class PipelineStoppedError(RuntimeError):
    """The run's handler thread is gone, so nothing more can be logged to the run."""


def _stopped(error: QueueClosed) -> PipelineStoppedError:
    return PipelineStoppedError(
        f"nbtrack: this run's pipeline has stopped ({error}); nothing more can be logged to "
        "it. What was logged before is in its transaction log: `nbtrack sync` sends it.")


class LogWriteError(OSError):
    """``log()`` cannot keep more: the transaction log cannot be written (a full disk) and
    the write-ahead ring holding what it could not write is full."""

    def __init__(self, cause: BaseException | None, log_path: object, ring_path: object) -> None:
        errno = getattr(cause, "errno", None) or 28  # ENOSPC unless the disk said otherwise
        reason = getattr(cause, "strerror", None) or str(cause or "write failed")
        super().__init__(errno, (
            f"nbtrack: the transaction log {log_path} cannot be written ({reason}) and the "
            f"write-ahead ring {ring_path} that keeps what it could not write is full: "
            "this log call was not logged. Everything logged before is kept; free space "
            f"and the run goes on, or after the run: `nbtrack sync {log_path}`."))


class ForkedProcessError(RuntimeError):
    """A forked child used a run of its parent: its pipeline threads did not survive the fork."""


_LIVE: weakref.WeakSet[Interface] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # fork copies the queues but not the handler, writer and sender threads: a put would
    # wait for a consumer that does not exist. Mark every interface, refuse at once.
    for iface in list(_LIVE):
        iface.forked = True


os.register_at_fork(after_in_child=_after_fork_in_child)


class Interface:
    """Publishes to the handler's queue; the only object the user's thread touches."""

    def __init__(self, record_q: RingQueue | ByteQueue, mailbox: Mailbox,
                 media: MediaWorker | None = None) -> None:
        """``record_q`` is the handler's RingQueue, or for a replay the sender's ByteQueue
        (the log's records are durable already); ``media`` the run's media worker."""
        self._q = record_q
        self._media = media
        if isinstance(record_q, RingQueue):
            self._put_record = record_q.put_record
        else:
            self._put_record = lambda record: record_q.put(record, record.ByteSize() + 64)
        self._mailbox = mailbox
        self._pid = os.getpid()
        self.forked = False
        _LIVE.add(self)

    def _refuse_in_child(self) -> None:
        raise ForkedProcessError(
            f"nbtrack: this run belongs to process {self._pid}; process {os.getpid()} is a "
            "fork of it (a DataLoader worker, multiprocessing) and cannot log to it. Log from "
            "the parent, return values to it, or start a run of its own with nbtrack.init() "
            "in the child.")

    # -- hot path
    def publish_log(self, data: dict[str, Any], step: int | None, commit: bool) -> None:
        if self.forked:
            self._refuse_in_child()
        try:
            self._q.put_row(data, step, commit)  # type: ignore[union-attr]  # live runs only
        except QueueClosed as e:
            raise _stopped(e) from None

    def submit_media(self, job: Job) -> tuple[str, int]:
        """Hand a validated media job to the encoder; the marker the row carries for it."""
        if self.forked:
            self._refuse_in_child()
        if self._media is None:
            raise PipelineStoppedError("nbtrack: this run has no media worker (a replay)")
        try:
            return (MEDIA_TAG, self._media.submit(job))
        except QueueClosed as e:
            raise _stopped(e) from None

    # -- records
    def publish(self, record: pb.Record) -> None:
        """A data record: in the write-ahead ring when this returns, like a row."""
        if self.forked:
            self._refuse_in_child()
        try:
            self._put_record(record)
        except QueueClosed as e:
            raise _stopped(e) from None

    def _publish_request(self, record: pb.Record) -> None:
        if self.forked:
            self._refuse_in_child()
        try:
            self._q.put(record, record.ByteSize() + 64)
        except QueueClosed as e:
            raise _stopped(e) from None

    def deliver(self, record: pb.Record, *, urgent: bool = False) -> MailboxHandle:
        """Publish a request and return the handle its answer arrives on.

        ``urgent`` requests go to the front of the queue: only for read-only snapshots
        that may be answered before rows already queued are processed.
        """
        handle = self._mailbox.reserve()
        record.control.mailbox_slot = handle.slot
        record.control.req_resp = True
        if urgent:
            if self.forked:
                self._refuse_in_child()
            self._q.put_front(record, record.ByteSize() + 64)
        elif record.WhichOneof("record_type") == "request":
            self._publish_request(record)
        else:
            self.publish(record)
        return handle

    def publish_config(self, update: dict[str, Any], remove: list[str] | None = None) -> None:
        rec = pb.Record()
        rec.config.update_json = json.dumps(update)
        rec.config.remove.extend(remove or [])
        self.publish(rec)

    def publish_summary(self, update: dict[str, Any], remove: list[str] | None = None) -> None:
        rec = pb.Record()
        rec.summary.update_json = json.dumps(update)
        rec.summary.remove.extend(remove or [])
        self.publish(rec)

    def publish_metric(self, metric: pb.MetricRecord) -> None:
        rec = pb.Record()
        rec.metric.CopyFrom(metric)
        self.publish(rec)

    def publish_files(self, items: list[pb.FileItem]) -> None:
        rec = pb.Record()
        rec.files.files.extend(items)
        self.publish(rec)

    def publish_exit(self, exit_code: int, runtime: float) -> None:
        rec = pb.Record()
        rec.exit.exit_code = exit_code
        rec.exit.runtime = runtime
        self.publish(rec)

    def publish_telemetry(self, telemetry: pb.TelemetryRecord) -> None:
        rec = pb.Record()
        rec.telemetry.CopyFrom(telemetry)
        self.publish(rec)

    def publish_run(self, run: pb.RunRecord) -> None:
        rec = pb.Record()
        rec.run.CopyFrom(run)
        self.publish(rec)

    # -- requests
    def deliver_run(self, run: pb.RunRecord) -> MailboxHandle:
        rec = pb.Record()
        rec.run.CopyFrom(run)
        return self.deliver(rec)

    def _request(self, field: str, message: Any = None, urgent: bool = False) -> MailboxHandle:
        rec = pb.Record()
        sub = getattr(rec.request, field)
        if message is not None:
            sub.CopyFrom(message)
        else:
            sub.SetInParent()
        rec.control.local = True
        return self.deliver(rec, urgent=urgent)

    def deliver_run_start(self, run: pb.RunRecord) -> MailboxHandle:
        return self._request("run_start", pb.RunStartRequest(run=run))

    def deliver_defer(self, state: int) -> MailboxHandle:
        return self._request("defer", pb.DeferRequest(state=state))  # type: ignore[arg-type]

    def deliver_poll_exit(self) -> MailboxHandle:
        return self._request("poll_exit")

    def deliver_get_summary(self) -> MailboxHandle:
        return self._request("get_summary")

    def deliver_sampled_history(self, keys: list[str] | None = None) -> MailboxHandle:
        return self._request("sampled_history", pb.SampledHistoryRequest(keys=keys or []),
                             urgent=True)

    def deliver_network_status(self) -> MailboxHandle:
        return self._request("network_status", urgent=True)

    def deliver_flush(self) -> MailboxHandle:
        return self._request("flush")

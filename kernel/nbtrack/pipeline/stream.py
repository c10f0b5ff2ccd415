"""The wiring: builds one run's queues, stages and network workers, owns start and close.

Nothing else creates pipeline threads or queues, and everything is built from one
:class:`~nbtrack.pipeline.config.PipelineConfig`. Stages only see their own input
plus plain callables for output, so any stage can be tested alone.

Live::

    record_q ─► Handler ─┬─ writer_q ─► Writer ─► run-<id>.nbtrack
                         └─ sender_q ─► Sender ─┬─► RunControl (GraphQL calls, in order)
                                                ├─► FileStreamPoster (file_stream posts)
                                                └─► FilePusher (createRunFiles + PUT)

``record_q`` is a :class:`~nbtrack.pipeline.ringqueue.RingQueue`: what ``log()`` and the
publishers put there is in the write-ahead ring ``run-<id>.ring`` first.

Replay (``nbtrack sync``): the transaction log is the input, so there is no handler
and no writer; the interface publishes the log's records straight into ``sender_q``
and :meth:`Stream.finish_replay` walks the sender's finish states.

Start: the ring and the writer first (a bad or full directory fails there, in the
caller), then the workers, the sender, the handler. Close: ``END`` into the first queue; each stage
hands it on to the ones it feeds; every thread is joined by one deadline, and the
report says which did not end and what each still held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.config import PipelineConfig
from nbtrack.pipeline.handler.stage import Handler
from nbtrack.pipeline.interface import Interface, LogWriteError, PipelineStoppedError
from nbtrack.pipeline.mailbox import Mailbox
from nbtrack.pipeline.media.resolve import MediaResolver
from nbtrack.pipeline.media.worker import MediaWorker
from nbtrack.pipeline.queues import END, ByteQueue, QueueClosed
from nbtrack.pipeline.ringqueue import RingQueue
from nbtrack.pipeline.sender.filepusher import FilePusher
from nbtrack.pipeline.sender.flowcontrol import LogTail
from nbtrack.pipeline.sender.poster import FileStreamPoster
from nbtrack.pipeline.sender.registrar import RunRegistrar
from nbtrack.pipeline.sender.runcontrol import RunControl
from nbtrack.pipeline.sender.stage import NetworkWorkers, Sender
from nbtrack.pipeline.stagethread import Stage
from nbtrack.pipeline.writer import Writer
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog.ring import RingFile, ring_path_for

logger = logging.getLogger("nbtrack.pipeline.stream")

D = pb.DeferRequest
# the finish states the sender answers (FLUSH_FINAL is the writer's, END the handler's)
SENDER_STATES = tuple(s for s in D.DeferState.values() if s < D.FLUSH_FINAL)


@dataclass
class CloseReport:
    """What ``close`` left behind: stages that did not end by the deadline, and why."""

    clean: bool
    still_running: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)  # stage -> what it still held
    writer_error: str | None = None
    # log bytes that never reached the OS; their entries are in the kept ring file
    unwritten_bytes: int = 0
    ring_kept: bool = False


def _emitter(q: ByteQueue) -> Any:
    def emit(item: Any, nbytes: int) -> None:
        if item is END:
            q.put_end()
            return
        try:
            q.put(item, nbytes)
        except QueueClosed:
            logger.warning("%s closed; a record was not handed on", q.name)

    return emit


def network_workers(config: PipelineConfig, transport: WandbClient | None, *,
                    stop_requested: threading.Event, log_path: Path | None = None,
                    replay: bool = False) -> NetworkWorkers | None:
    """The sender's workers for ``transport`` (None offline).

    A live run's poster reads spilled lines back from ``log_path``; a replay has no
    live log to follow, nor anyone to stop, so it waits for room and never polls.
    """
    if transport is None:
        return None
    tail = LogTail(log_path) if log_path is not None and not replay else None
    poster = FileStreamPoster(transport, post_interval=config.post_interval,
                              max_post_bytes=config.max_post_bytes,
                              max_held_bytes=config.max_unsent_bytes,
                              heartbeat_interval=config.heartbeat_interval, tail=tail,
                              stop_requested=None if replay else stop_requested)
    pusher = FilePusher(transport, queue_bytes=config.worker_queue_bytes)
    control = RunControl(transport, RunRegistrar(transport, replay=replay), poster,
                         on_run_known=pusher.set_run, stop_requested=stop_requested,
                         stop_poll_interval=0.0 if replay else config.stop_poll_interval,
                         queue_bytes=config.worker_queue_bytes)
    return NetworkWorkers(transport, control, poster, pusher)


def _no_warning(message: str) -> None:
    logger.warning("%s", message)


class Stream:
    """One run's pipeline (or, with ``replay``, one log's replay); see the module docstring."""

    def __init__(self, config: PipelineConfig, log_path: Path, transport: WandbClient | None,
                 *, warn: Callable[[str], None] = _no_warning, replay: bool = False) -> None:
        self.config = config
        self.log_path = log_path
        self.transport = transport
        self.replay = replay
        self.mailbox = Mailbox()
        respond = self.mailbox.deliver
        # set by run control when the server asks the run to stop
        self.stop_requested = threading.Event()
        self.sender_q = ByteQueue(config.sender_queue_bytes, "sender_q")
        self.workers = network_workers(config, transport, stop_requested=self.stop_requested,
                                       log_path=log_path, replay=replay)
        self.sender = Sender(self.sender_q, respond, self.workers,
                             stop_requested=self.stop_requested, replay=replay,
                             config_debounce=config.config_debounce)
        self.writer: Writer | None = None
        self.handler: Handler | None = None
        self.media: MediaWorker | None = None
        self.record_q: Any
        if replay:
            self.record_q = self.sender_q
        else:
            self.ring_path = ring_path_for(log_path)
            self.record_q = RingQueue(None, config.record_queue_bytes, "record_q")
            writer_q = ByteQueue(config.writer_queue_bytes, "writer_q")
            self.writer = Writer(writer_q, log_path, respond, ring=self.record_q, warn=warn,
                                 fsync_interval=config.fsync_interval)
            run_dir = Path(log_path).parent
            self.media = MediaWorker(run_dir / "media-tmp", run_dir / "files",
                                     queue_bytes=config.media_queue_bytes)
            self.handler = Handler(self.record_q, _emitter(writer_q), _emitter(self.sender_q),
                                   respond, warn, summary_interval=config.summary_interval,
                                   media=MediaResolver(self.media, run_dir / "files", warn))
            self.record_q.watch(self._health)
        self.interface = Interface(self.record_q, self.mailbox, media=self.media)
        self._started = False
        self._closed = False

    def _health(self) -> BaseException | None:
        """Why a ``log()`` waiting for room would wait forever (None: it would not)."""
        handler, writer = self.handler, self.writer
        if handler is not None and not handler.alive:
            return PipelineStoppedError(
                "nbtrack: this run's handler thread has stopped; nothing more can be logged "
                f"to it. What was logged before is in {self.log_path} and "
                f"{self.ring_path}: `nbtrack sync {self.log_path}` sends it.")
        if writer is not None and writer.failing:
            return LogWriteError(writer.error, self.log_path, self.ring_path)
        return None

    def _stages(self) -> list[Stage]:
        """Every stage and worker in the order close joins them: upstream first."""
        stages: list[Stage] = [s for s in (self.handler, self.media, self.writer)
                               if s is not None]
        stages.append(self.sender)
        if self.workers is not None:
            stages += [self.workers.control, self.workers.poster, self.workers.pusher]
        return stages

    def start(self) -> None:
        """Start every stage: the writer first, so a bad directory fails here, in the caller."""
        if self._started:
            return
        if self.writer is not None:
            assert isinstance(self.record_q, RingQueue)
            self.record_q.ring = RingFile(self.ring_path, self.config.ring_bytes)
            try:
                self.writer.start()
            except BaseException:
                self.record_q.finish_ring()
                raise
        for stage in reversed(self._stages()):
            if stage is not self.writer:
                stage.start()
        self._started = True

    def close(self, timeout: float = 10.0, *, abort_network: bool = False) -> CloseReport:
        """End the stream in order and join every stage by one deadline; safe to call twice."""
        if self._closed or not self._started:
            self._closed = True
            return CloseReport(clean=True)
        self._closed = True
        deadline = time.monotonic() + timeout
        if abort_network and self.transport is not None:
            self.transport.close()
        self.record_q.put_end()
        if self.media is not None:
            self.media.end()  # after every job queued so far: the handler takes them all
        stages = self._stages()
        running = [s for s in stages if not s.join(max(deadline - time.monotonic(), 0.05))]
        if running and self.transport is not None and not abort_network:
            # a stage waits on the network past the deadline: give up sending
            self.transport.close()
            running = [s for s in running if not s.join(1.0)]
        self.mailbox.close()
        if self.media is not None and not self.media.alive:
            self.media.cleanup()
        left = {s.name: s.left() for s in running}
        if running:
            logger.warning("pipeline stages still running after close: %s",
                           "; ".join(f"{n} ({what or 'busy'})" for n, what in left.items()))
        writer = self.writer
        error = writer.error if writer is not None else None
        unwritten = writer.unwritten_bytes if writer is not None else 0
        kept = writer is not None and (writer.ring_kept or writer.alive)
        return CloseReport(clean=not running, still_running=[s.name for s in running],
                           left=left, writer_error=str(error) if error else None,
                           unwritten_bytes=unwritten, ring_kept=kept)

    def finish_replay(self, timeout: float) -> bool:
        """Replay: walk the sender's finish states, then close; True when all was delivered.

        Everything published before is routed first (each state is one round trip
        through ``sender_q``), so this is the same finish a live run does.
        """
        deadline = time.monotonic() + max(timeout, 0.0)
        answered = True
        for state in SENDER_STATES:
            handle = self.interface.deliver_defer(state)
            if handle.wait(max(deadline - time.monotonic(), 0.0)) is None:
                handle.abandon()
                answered = False
                break
        report = self.close(max(deadline - time.monotonic(), 1.0), abort_network=not answered)
        return answered and report.clean and self.sender.delivered

    @property
    def closed(self) -> bool:
        return self._closed

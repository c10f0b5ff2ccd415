"""The wiring: builds the queues and the stage threads of one run, owns start and close.

Nothing else creates pipeline threads or queues. Stages only see their own
input queue plus plain callables for output, so any stage can be tested alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.client.transport import Transport
from nbtrack.pipeline.handler.stage import Handler
from nbtrack.pipeline.interface import Interface
from nbtrack.pipeline.mailbox import Mailbox
from nbtrack.pipeline.queues import END, ByteQueue, QueueClosed
from nbtrack.pipeline.sender.stage import Sender
from nbtrack.pipeline.writer import Writer
from nbtrack.proto import nbtrack_pb2 as pb

logger = logging.getLogger("nbtrack.pipeline.stream")

# Bounds on what may wait between stages; past them log() waits (backpressure). The
# sender spills what it can't send to the transaction log, so these stay small.
RECORD_Q_BYTES = 16 * 1024 * 1024
WRITER_Q_BYTES = 8 * 1024 * 1024
SENDER_Q_BYTES = 8 * 1024 * 1024


@dataclass
class CloseReport:
    """What ``close`` left behind: stages that did not end by the deadline."""

    clean: bool
    still_running: list[str] = field(default_factory=list)
    writer_error: str | None = None


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


class Stream:
    """One run's pipeline: record_q → Handler → (writer_q → Writer, sender_q → Sender)."""

    def __init__(self, log_path: Path, transport: Transport | None,
                 warn: Callable[[str], None], *,
                 summary_interval: float = 2.0, post_interval: float = 1.0) -> None:
        self.log_path = log_path
        self.transport = transport
        self.mailbox = Mailbox()
        self.record_q = ByteQueue(RECORD_Q_BYTES, "record_q")
        self.writer_q = ByteQueue(WRITER_Q_BYTES, "writer_q")
        self.sender_q = ByteQueue(SENDER_Q_BYTES, "sender_q")
        respond = self.mailbox.deliver
        # set by the sender's file-stream worker when the server asks the run to stop
        self.stop_requested = threading.Event()
        self.writer = Writer(self.writer_q, log_path, respond)
        self.sender = Sender(self.sender_q, respond, transport, post_interval=post_interval,
                             log_path=log_path, stop_event=self.stop_requested)
        self.handler = Handler(self.record_q, _emitter(self.writer_q), _emitter(self.sender_q),
                               respond, warn, summary_interval=summary_interval)
        self.interface = Interface(self.record_q, self.mailbox, put_timeout=120.0)
        self._started = False
        self._closed = False

    def start(self) -> None:
        """Start the stages; the writer first, so a bad directory fails here, in the caller."""
        if self._started:
            return
        self.writer.start()
        self.sender.start()
        self.handler.start()
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
        left: list[str] = []
        for name, stage in (("handler", self.handler), ("writer", self.writer),
                            ("sender", self.sender)):
            if not stage.join(max(deadline - time.monotonic(), 0.05)):
                left.append(name)
        if left and self.transport is not None and not abort_network:
            self.transport.close()
            if self.sender.join(1.0) and "sender" in left:
                left.remove("sender")
        self.mailbox.close()
        error = getattr(self.writer, "error", None)
        if left:
            logger.warning("pipeline stages still running after close: %s", ", ".join(left))
        return CloseReport(clean=not left, still_running=left,
                           writer_error=str(error) if error else None)

    @property
    def closed(self) -> bool:
        return self._closed


def defer_states() -> list[int]:
    """The finish state machine's states, in order."""
    return list(pb.DeferRequest.DeferState.values())

"""The user side of finish: walk the defer states in order, report poll-exit progress.

Each state is one round trip through handler and sender (or writer), so all that
was published before a state is flushed before the next one starts. The walk
stops at the deadline; the caller then detaches and tells the user how to sync. A walk
that completed still says what the server refused for good (``not_stored``), so finish
never reports a run as stored when it is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from nbtrack.pipeline.interface import Interface
from nbtrack.pipeline.mailbox import MailboxClosed, MailboxHandle
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.sdk.events import FinishProgress

DeferState = pb.DeferRequest.DeferState
STATES: tuple[int, ...] = tuple(DeferState.values())
POLL_INTERVAL = 0.2


@dataclass
class FinishOutcome:
    completed: bool
    reached: str  # name of the last state answered, or "" if none
    waited_on: str = ""  # the state that timed out
    progress: FinishProgress | None = None  # the last poll-exit answer, if any
    seconds: float = 0.0
    # lines and run updates the server refused for good (they stay in the log for sync)
    not_stored: int = 0
    not_stored_reason: str = ""


OnProgress = Callable[[FinishProgress], None]


def progress_of(resp: pb.PollExitResponse) -> FinishProgress:
    return FinishProgress(
        uploaded_bytes=resp.uploaded_bytes,
        total_bytes=resp.total_bytes,
        uploaded_files=resp.file_counts.uploaded_files,
        total_files=resp.file_counts.total_files,
        pending_lines=resp.pending_lines,
        done=resp.done,
    )


class _Poller:
    """Asks poll_exit at most every POLL_INTERVAL, never waiting on a slow answer."""

    def __init__(self, iface: Interface, on_progress: OnProgress):
        self._iface = iface
        self._on_progress = on_progress
        self._pending: MailboxHandle | None = None
        self._next = 0.0
        self.last: FinishProgress | None = None

    def tick(self) -> None:
        now = time.monotonic()
        if self._pending is not None and self._pending.done():
            result = self._pending.wait(0)
            self._pending = None
            if result is not None and result.HasField("poll_exit"):
                self.last = progress_of(result.poll_exit)
                self._on_progress(self.last)
        if self._pending is None and now >= self._next:
            self._pending = self._iface.deliver_poll_exit()
            self._next = now + POLL_INTERVAL

    def close(self) -> None:
        if self._pending is not None:
            self._pending.abandon()


def walk(iface: Interface, deadline: float, on_progress: OnProgress) -> FinishOutcome:
    """Send each defer state and wait for its answer until ``deadline`` (monotonic)."""
    start = time.monotonic()
    poller = _Poller(iface, on_progress)
    reached = ""
    try:
        for state in STATES:
            handle = iface.deliver_defer(state)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    handle.abandon()
                    return FinishOutcome(False, reached, DeferState.Name(state),
                                         poller.last, time.monotonic() - start)
                try:
                    result = handle.wait(min(POLL_INTERVAL / 2, remaining))
                except MailboxClosed:
                    return FinishOutcome(False, reached, DeferState.Name(state),
                                         poller.last, time.monotonic() - start)
                if result is not None:
                    reached = DeferState.Name(state)
                    break
                poller.tick()
        resp = _final_poll(iface, deadline)
        final = progress_of(resp) if resp is not None else None
        if final is not None:
            on_progress(final)
        return FinishOutcome(True, reached, "", final if final is not None else poller.last,
                             time.monotonic() - start,
                             not_stored=resp.not_stored if resp is not None else 0,
                             not_stored_reason=resp.not_stored_reason if resp is not None
                             else "")
    finally:
        poller.close()


def _final_poll(iface: Interface, deadline: float) -> pb.PollExitResponse | None:
    """The last poll-exit answer: the final counts and what the server did not store."""
    handle = iface.deliver_poll_exit()
    try:
        result = handle.wait(max(min(1.0, deadline - time.monotonic()), 0.05))
    except MailboxClosed:
        return None
    if result is None or not result.HasField("poll_exit"):
        handle.abandon()
        return None
    return result.poll_exit

"""Matches Results to the requests that wait for them, by slot id.

Every wait has a timeout and ``close`` abandons all waiters, so no call from
the user's thread can hang forever on a pipeline that stopped answering.
"""

from __future__ import annotations

import itertools
import threading

from nbtrack.proto import nbtrack_pb2 as pb


class MailboxClosed(Exception):
    """The pipeline shut down before the answer arrived."""


class MailboxHandle:
    """One outstanding request; ``wait`` returns its Result or None on timeout."""

    __slots__ = ("_event", "_mailbox", "_result", "abandoned", "slot")

    def __init__(self, mailbox: Mailbox, slot: str) -> None:
        self._mailbox = mailbox
        self.slot = slot
        self._event = threading.Event()
        self._result: pb.Result | None = None
        self.abandoned = False

    def _deliver(self, result: pb.Result | None) -> None:
        self._result = result
        self._event.set()

    def wait(self, timeout: float) -> pb.Result | None:
        """The Result, or None when ``timeout`` passes. Raises MailboxClosed if abandoned."""
        if not self._event.wait(max(timeout, 0.0)):
            return None
        if self._result is None:
            raise MailboxClosed(f"request {self.slot} abandoned: the run's pipeline has stopped")
        self._mailbox._forget(self.slot)
        return self._result

    def done(self) -> bool:
        return self._event.is_set()

    def abandon(self) -> None:
        """Stop waiting; a late answer is dropped."""
        self._mailbox._forget(self.slot)


class Mailbox:
    """Hands out slots and delivers Results to them; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handles: dict[str, MailboxHandle] = {}
        self._counter = itertools.count(1)
        self._closed = False

    def reserve(self) -> MailboxHandle:
        with self._lock:
            slot = f"s{next(self._counter)}"
            handle = MailboxHandle(self, slot)
            if self._closed:
                handle.abandoned = True
                handle._deliver(None)
            else:
                self._handles[slot] = handle
            return handle

    def deliver(self, result: pb.Result) -> None:
        """Called by a stage with the answer; unknown or abandoned slots are ignored."""
        with self._lock:
            handle = self._handles.pop(result.mailbox_slot, None)
        if handle is not None:
            handle._deliver(result)

    def _forget(self, slot: str) -> None:
        with self._lock:
            self._handles.pop(slot, None)

    def close(self) -> None:
        """Abandon every waiter: their ``wait`` raises MailboxClosed."""
        with self._lock:
            self._closed = True
            handles = list(self._handles.values())
            self._handles.clear()
        for handle in handles:
            handle.abandoned = True
            handle._deliver(None)

    def __len__(self) -> int:
        return len(self._handles)

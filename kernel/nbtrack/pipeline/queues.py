"""Byte-bounded queues between pipeline stages.

A producer blocks while the queue holds more than ``max_bytes`` (backpressure
instead of unbounded memory); a consumer takes items in batches so per-item
locking is amortized. ``END`` marks the end of a stream: a stage's loop stops
after it, so shutdown drains in order.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any, Final


class _EndOfStream:
    """The end-of-stream marker; one instance, compared by identity."""

    _instance: _EndOfStream | None = None

    def __new__(cls) -> _EndOfStream:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "END"


END: Final = _EndOfStream()

# Without a wake-up, a consumer still takes lazily queued items once this many are waiting.
WAKE_ITEMS = 256


# how often a producer blocked in back-pressure checks that its consumer still runs (s)
CONSUMER_CHECK = 0.5


class QueueClosed(Exception):
    """Raised by ``put`` after ``close``: the consumer is gone."""


class QueueState:
    """What every byte-bounded queue has: one lock with its two conditions, the bytes held,
    who waits, ``close``. :class:`ByteQueue` and the handler's ``RingQueue`` build on it."""

    _items: collections.deque[Any]

    def __init__(self, max_bytes: int, name: str) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self._items = collections.deque()
        self._bytes = 0
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._closed = False
        self.blocked_seconds = 0.0  # total time producers spent in backpressure
        self._producers_waiting = 0
        self._consumers_waiting = 0

    def _take(self, max_items: int, timeout: float | None) -> Any:
        """Pop up to ``max_items`` entries (each holds its byte size at index 1), waiting up
        to ``timeout`` for the first one; wakes the producers waiting for room.

        The lock is held for O(1) when everything queued fits the batch (the deque itself
        is taken): a producer never waits behind a 4,096-entry pop, and with the GIL a wait
        for this lock costs the producer a whole switch interval (5 ms).
        """
        with self._lock:
            items = self._items
            if not items:
                self._consumers_waiting += 1
                try:
                    self._not_empty.wait(timeout)
                finally:
                    self._consumers_waiting -= 1
                if not items:
                    return ()
            if len(items) <= max_items:
                self._items = collections.deque()
                out: Any = items
            else:
                popleft = items.popleft
                out = [popleft() for _ in range(max_items)]
        freed = sum(entry[1] for entry in out)
        with self._lock:
            self._bytes -= freed
            self._not_full.notify_all()
        return out

    def close(self) -> None:
        """Wake every waiter; later ``put`` calls raise QueueClosed."""
        with self._lock:
            self._closed = True
            self._not_full.notify_all()
            self._not_empty.notify_all()

    def waiting_producers(self) -> int:
        """How many ``put`` calls are blocked in backpressure right now (what a status view
        shows as "log() is waiting for the pipeline")."""
        return self._producers_waiting

    def waiting_consumers(self) -> int:
        """How many ``get_batch`` calls wait for an item right now."""
        return self._consumers_waiting

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


class ByteQueue(QueueState):
    """A FIFO bounded by the sum of the byte sizes its producers declare.

    One item larger than the bound is still accepted when the queue is empty,
    so a single big record can never deadlock.
    """

    _items: collections.deque[tuple[Any, int]]

    def __init__(self, max_bytes: int, name: str = "queue") -> None:
        super().__init__(max_bytes, name)
        self._consumer_alive: Callable[[], bool] | None = None

    def watch_consumer(self, alive: Callable[[], bool]) -> None:
        """Let a blocked ``put`` notice that the consumer thread has died: it then raises
        QueueClosed instead of waiting for room that will never come. Back-pressure without
        a timeout is only safe with this: a slow consumer makes ``put`` wait, a dead one
        makes it fail at once."""
        self._consumer_alive = alive

    def put(self, item: Any, nbytes: int, timeout: float | None = None,
            wake: bool = True) -> None:
        """Append ``item``; wait while the queue is full. Raises TimeoutError, QueueClosed.

        ``wake=False`` leaves a waiting consumer asleep until its own timeout (or until
        ``WAKE_ITEMS`` items are queued): rows then travel in batches instead of waking
        three threads per row, which matters when a training step logs every millisecond.
        """
        with self._lock:
            if self._bytes + nbytes > self.max_bytes and self._bytes > 0:
                self._wait_for_room(nbytes, timeout)
            if self._closed:
                raise QueueClosed(self.name)
            items = self._items
            items.append((item, nbytes))
            self._bytes += nbytes
            if wake or len(items) >= WAKE_ITEMS:
                self._not_empty.notify()

    def _wait_for_room(self, nbytes: int, timeout: float | None) -> None:
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        self._producers_waiting += 1
        try:
            while self._bytes + nbytes > self.max_bytes and self._bytes > 0 and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"{self.name} stayed full for {timeout:.1f}s")
                alive = self._consumer_alive
                if alive is not None:
                    if not alive():
                        raise QueueClosed(f"{self.name}: its consumer has stopped")
                    remaining = CONSUMER_CHECK if remaining is None else min(remaining,
                                                                             CONSUMER_CHECK)
                self._not_full.wait(remaining)
        finally:
            self._producers_waiting -= 1
            self.blocked_seconds += time.monotonic() - start

    def put_front(self, item: Any, nbytes: int) -> None:
        """Jump the line without waiting: for read-only requests such as live-chart polls,
        whose answer should not wait behind a backlog of rows."""
        with self._lock:
            if self._closed:
                raise QueueClosed(self.name)
            self._items.appendleft((item, nbytes))
            self._bytes += nbytes
            self._not_empty.notify()

    def put_end(self) -> None:
        """Append the end marker; never blocks, never raises."""
        with self._lock:
            self._items.append((END, 0))
            self._not_empty.notify()

    def get_batch(self, max_items: int = 1024, timeout: float | None = None) -> list[Any]:
        """Take up to ``max_items`` items, waiting up to ``timeout`` for the first one."""
        return [entry[0] for entry in self._take(max_items, timeout)]

"""The handler's input: a queue whose durable items are also written to the write-ahead ring.

``log()`` and every data record land in the ring file (:mod:`nbtrack.txlog.ring`) before
``put`` returns, so a killed process loses none of them; the same items go to the handler
through an in-memory deque, so the handler never decodes the ring (it is read only by
recovery). Requests (answers through the mailbox) are not data: deque only.

Both happen under one lock, so the deque's order is the ring's order and each item
carries the seq of the last durable entry at or before it. Two bounds, both real bytes:
the ring's free space (released once the writer has handed the entries' records to the
OS) and ``max_bytes`` of items not yet taken by the handler (payload + overhead).

When the ring is full and the pipeline cannot free it (the handler died, the disk
refuses the transaction log), ``put`` raises instead of waiting forever: ``health``
returns the exception to raise, checked every :data:`CONSUMER_CHECK` seconds of waiting.
"""

from __future__ import annotations

import collections
import marshal
import time
from collections.abc import Callable
from typing import Any

from nbtrack.pipeline.queues import CONSUMER_CHECK, END, WAKE_ITEMS, QueueClosed, QueueState
from nbtrack.txlog.ring import KIND_RECORD, KIND_ROW, MARSHAL_VERSION, RingFile

__all__ = ["RingQueue"]

_OVERHEAD = 200  # per item, on top of its payload: the Python objects around it


class RingQueue(QueueState):
    """A FIFO of (item, seq) for the handler; durable items are in the ring first."""

    _items: collections.deque[tuple[Any, int, int]]

    def __init__(self, ring: RingFile | None, max_bytes: int, name: str = "record_q") -> None:
        super().__init__(max_bytes, name)
        self.ring = ring  # None: not durable (unit tests of the stages, micro-benchmarks)
        self._seq = 0
        self._health: Callable[[], BaseException | None] | None = None

    def watch(self, health: Callable[[], BaseException | None]) -> None:
        """``health()`` returns what a blocked ``put`` raises when waiting cannot help."""
        self._health = health

    # -------------------------------------------------------------- producers

    def put_row(self, data: dict[str, Any], step: int | None, commit: bool,
                _dumps: Callable[[Any, int], bytes] = marshal.dumps,
                _version: int = MARSHAL_VERSION,
                _time: Callable[[], float] = time.time) -> None:
        """One ``log()`` call: in the ring when this returns (the hot path, inlined)."""
        item = (data, step, commit, _time())
        payload = _dumps(item, _version)
        nbytes = len(payload) + _OVERHEAD
        with self._lock:
            ring = self.ring
            if (ring is not None and not self._closed
                    and self._bytes + nbytes <= self.max_bytes):
                seq = ring.try_append(KIND_ROW, payload)
                if seq:
                    self._seq = seq
                    items = self._items
                    items.append((item, nbytes, seq))
                    self._bytes += nbytes
                    if self._consumers_waiting and len(items) >= WAKE_ITEMS:
                        self._not_empty.notify()
                    return
        self._put(item, KIND_ROW, payload, False)  # full, closed or not durable: wait there

    def put_record(self, record: Any) -> None:
        """A data record (config, summary, files, exit ...): durable like a row."""
        self._put(record, KIND_RECORD, record.SerializeToString(), True)

    def put(self, item: Any, nbytes: int) -> None:
        """A request: not data, so not in the ring, but in order with the rows."""
        with self._lock:
            self._wait(0, nbytes)
            if self._closed:
                raise QueueClosed(self.name)
            self._items.append((item, nbytes, self._seq))
            self._bytes += nbytes
            self._not_empty.notify()

    def _put(self, item: Any, kind: int, payload: bytes, wake: bool) -> None:
        nbytes = len(payload) + _OVERHEAD
        with self._lock:
            ring = self.ring
            need = ring.need(len(payload)) if ring is not None else 0
            self._wait(need, nbytes)  # at once when it fits
            if self._closed:
                raise QueueClosed(self.name)
            seq = ring.append(kind, payload) if ring is not None else self._seq + 1
            self._seq = seq
            items = self._items
            items.append((item, nbytes, seq))
            self._bytes += nbytes
            if wake or len(items) >= WAKE_ITEMS:
                self._not_empty.notify()

    def _full(self, need: int, nbytes: int) -> bool:
        ring = self.ring
        if ring is not None and need > ring.free():
            return True
        return self._bytes > 0 and self._bytes + nbytes > self.max_bytes

    def _wait(self, need: int, nbytes: int) -> None:
        """Wait (lock held) until the item fits; raise when waiting cannot help."""
        ring = self.ring
        if ring is not None and need > ring.capacity:
            raise ValueError(f"{self.name}: an entry of {need} bytes does not fit the "
                             f"{ring.capacity}-byte write-ahead ring")
        if not self._full(need, nbytes) or self._closed:
            return
        start = time.monotonic()
        self._producers_waiting += 1
        try:
            while self._full(need, nbytes) and not self._closed:
                health = self._health
                if health is not None:
                    problem = health()
                    if problem is not None:
                        raise problem
                self._not_full.wait(CONSUMER_CHECK)
        finally:
            self._producers_waiting -= 1
            self.blocked_seconds += time.monotonic() - start
        if self._closed:
            raise QueueClosed(self.name)

    def put_front(self, item: Any, nbytes: int) -> None:
        """A read-only request that should not wait behind a backlog of rows."""
        with self._lock:
            if self._closed:
                raise QueueClosed(self.name)
            self._items.appendleft((item, nbytes, 0))
            self._bytes += nbytes
            self._not_empty.notify()

    def put_end(self) -> None:
        with self._lock:
            self._items.append((END, 0, self._seq))
            self._not_empty.notify()

    # -------------------------------------------------------------- the handler

    def get_batch(self, max_items: int = 1024,
                  timeout: float | None = None) -> list[tuple[Any, int]]:
        """Up to ``max_items`` (item, seq) pairs; seq 0 for an urgent request."""
        return [(item, seq) for item, _size, seq in self._take(max_items, timeout)]

    # -------------------------------------------------------------- the writer

    def release_through(self, seq: int) -> None:
        """Everything up to ``seq`` is in the transaction log: its ring space is free."""
        ring = self.ring
        if ring is None or seq <= ring.released_seq:
            return
        found = ring.find_release(seq)  # the walk, without holding up log()
        if found is None:
            return
        with self._lock:
            ring.set_released(*found)
            self._not_full.notify_all()

    def note_fsync(self, seq: int, log_offset: int) -> None:
        ring = self.ring
        if ring is not None:
            with self._lock:
                ring.note_fsync(seq, log_offset)

    def wants_release(self) -> bool:
        """A quarter of the ring waits for release: worth taking the lock for."""
        ring = self.ring
        return ring is not None and ring.used() * 4 > ring.capacity

    def ring_pressure(self) -> bool:
        """More than half the ring waits for the writer: time to hand the log to the OS."""
        ring = self.ring
        return ring is not None and ring.used() * 2 > ring.capacity

    def finish_ring(self) -> bool:
        """At the end of the log: close the queue and the ring; the file is deleted when
        every entry is in the log (True), else kept for ``nbtrack sync`` (False)."""
        with self._lock:
            self._closed = True
            self._not_full.notify_all()
            ring = self.ring
            if ring is None:
                return True
            complete = ring.released_seq >= ring.seq
            ring.close(delete=complete)
            return complete

    # -------------------------------------------------------------- state

    @property
    def last_seq(self) -> int:
        return self._seq

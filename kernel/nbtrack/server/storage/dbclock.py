"""The database's clock, for replicas whose hosts' clocks differ.

Heartbeats, expiries and "crashed" are judged by one clock when several server processes
share a database. Asking the database on every call would cost a round trip per write, so
the offset between its clock and ours is read again every :data:`REFRESH` seconds, by one
caller at a time (the others use the offset they have).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from nbtrack.server.storage.base import StorageUnavailable

__all__ = ["REFRESH", "DatabaseClock"]

REFRESH = 30.0  # seconds between readings of the database's clock


class DatabaseClock:
    """``now()``: our clock plus the database's offset from it.

    ``read`` returns ``(database time, our time at that moment)``; it may raise
    :class:`StorageUnavailable`, and then the offset read last stays in use.
    """

    def __init__(self, read: Callable[[], tuple[float, float]], refresh: float = REFRESH) -> None:
        self._read = read
        self._refresh = refresh
        self._offset = 0.0  # the database's clock minus ours
        self._read_at = -refresh
        self._lock = threading.Lock()

    def now(self) -> float:
        mono = time.monotonic()
        if mono - self._read_at > self._refresh and self._lock.acquire(blocking=False):
            try:
                self._reread(mono)
            finally:
                self._lock.release()
        return time.time() + self._offset

    def _reread(self, mono: float) -> None:
        try:
            theirs, ours = self._read()
        except StorageUnavailable:
            return  # the request that asked the time meets the outage itself (503)
        self._offset = theirs - ours
        self._read_at = mono

"""What the network is doing, for ``network_status`` and the widget's badge.

One :class:`NetStatus` per client, updated by its retry loop (retrying, success,
failure) and by the sender's workers (lines or files the server refused for good).
"""

from __future__ import annotations

import threading
import time
from typing import Any


class NetStatus:
    """Thread-safe picture of the network trouble, for ``network_status``.

    ``state``: "retrying" while any call is in a retry loop; else "failed" if
    something failed for good (data not accepted by the server); else "ok".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retrying = 0  # calls currently inside a retry loop
        self.last_status = 0
        self.retry_count = 0
        self.last_error = ""
        self.since = 0.0
        self.failures = 0  # requests that failed for good
        self.dropped_lines = 0  # file-stream lines the server refused for good
        self.failed_files = 0
        self.pending_bytes = 0

    # -- updates from the transport -----------------------------------------
    def _enter_trouble(self) -> None:
        if self.since == 0.0:
            self.since = time.time()

    def begin_retry(self, status: int | None, error: str) -> None:
        with self._lock:
            self._enter_trouble()
            self.retry_count += 1
            self.last_status = status or 0
            self.last_error = error

    def retrying_started(self) -> None:
        with self._lock:
            self._retrying += 1

    def retrying_ended(self) -> None:
        with self._lock:
            self._retrying = max(0, self._retrying - 1)

    def success(self, status: int) -> None:
        with self._lock:
            if self._retrying == 0 and self.failures == 0:
                self.since = 0.0
            if self.failures == 0:
                self.last_status = status

    def failed(self, status: int | None, error: str) -> None:
        with self._lock:
            self._enter_trouble()
            self.failures += 1
            self.last_status = status or 0
            self.last_error = error

    # -- updates from the workers -------------------------------------------
    def add_dropped_lines(self, n: int, error: str) -> None:
        with self._lock:
            self.dropped_lines += n
            self.last_error = f"{error} ({self.dropped_lines} lines not accepted)"

    def add_failed_file(self, error: str) -> None:
        with self._lock:
            self.failed_files += 1
            self.last_error = error

    def set_pending_bytes(self, n: int) -> None:
        self.pending_bytes = n

    # -- reading ------------------------------------------------------------
    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._retrying > 0:
            return "retrying"
        if self.failures > 0 or self.dropped_lines > 0 or self.failed_files > 0:
            return "failed"
        return "ok"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self._state(),
                "status_code": self.last_status,
                "retry_count": self.retry_count,
                "error": self.last_error,
                "since": self.since,
                "pending_bytes": self.pending_bytes,
                "failures": self.failures,
                "dropped_lines": self.dropped_lines,
                "failed_files": self.failed_files,
            }

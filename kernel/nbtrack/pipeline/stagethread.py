"""The life of one stage's thread: started at most once, joined with a deadline.

Every pipeline stage and worker owns one of these, so "safe to call twice" and
"every join has a deadline" are written once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class StageThread:
    """A daemon thread named ``nbtrack-<stage>`` running ``target`` once."""

    def __init__(self, target: Callable[[], None], name: str) -> None:
        self.name = name
        self._target = target
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> bool:
        """Start the thread; False, doing nothing, when it was started before."""
        with self._lock:
            if self._thread is not None:
                return False
            self._thread = threading.Thread(target=self._target, name=self.name, daemon=True)
            self._thread.start()
            return True

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s; True when the thread has ended (or never started)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(max(timeout, 0.0))
        return not thread.is_alive()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

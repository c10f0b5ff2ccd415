"""The one shape of every stage and worker: started once, fed through a bounded input that
ends with an end marker, joined with a deadline that says what was left.

Every pipeline stage and worker owns a :class:`StageThread`, so "safe to call twice"
and "every join has a deadline" are written once, and satisfies :class:`Stage`, so
the wiring (``stream.py``) starts, joins and reports them all the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class Stage(Protocol):
    """What the wiring needs of each stage: its input ends with an end marker (``END`` on
    its queue, or its ``end()``), after which its thread finishes what it holds and stops."""

    name: str

    def start(self) -> None:
        """Start the thread; a second call does nothing."""

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s; True when the thread ended (or never started)."""

    def left(self) -> str:
        """What it still holds, in words ("" when nothing), for the close report."""


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


class ThreadedStage:
    """``start`` / ``join`` / ``alive`` of a stage that runs on ``self._thread``: written once
    for every stage and worker instead of three delegating methods in each."""

    _thread: StageThread

    def start(self) -> None:
        """Start the stage's thread; a second call does nothing."""
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s; True when the thread has ended (or never started)."""
        return self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.alive


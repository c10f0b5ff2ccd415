"""What a stop request from the server does to a run (``nbtrack stop``, a page's stop button).

The sender's file-stream worker sets the stream's ``stop_requested`` event when the server
says so. Nothing happens in the user's code until its next ``log`` call: there the run tells
its listeners, calls the ``on_stop`` callbacks, finishes, and raises
:class:`RunStopRequested` unless a callback took over (then that call and every later one
are ignored, so a loop that cannot be broken from outside simply runs dry).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from nbtrack.sdk.events import Listeners, StopRequested

if TYPE_CHECKING:
    from nbtrack.sdk.run import Run

logger = logging.getLogger("nbtrack.sdk.stop")


class RunStopRequested(RuntimeError):
    """Raised by ``log`` once a stop was requested on the server (``nbtrack stop``).

    The run is finished cleanly before this is raised; catch it to end the loop.
    """


class StopPolicy:
    """The run's answer to a stop request, at the first ``log`` call after it."""

    def __init__(self, listeners: Listeners) -> None:
        self._listeners = listeners
        self._callbacks: list[Callable[[Run], None]] = []
        self._seen = False

    def add(self, fn: Callable[[Run], None]) -> None:
        self._callbacks.append(fn)

    def at_log(self, run: Run) -> bool:
        """A stop was requested and ``log`` was called: True when the call is to be ignored."""
        if self._seen:
            if self._callbacks:
                return True
            raise RunStopRequested(f"run {run.name} was stopped (a stop was requested on "
                                   "the server); it is finished")
        if run.state != "running":
            return False  # finished before the stop arrived: log() refuses as for any finished run
        self._seen = True
        self._listeners.emit(StopRequested())
        for fn in list(self._callbacks):
            try:
                fn(run)
            except Exception:
                logger.exception("on_stop callback failed")
        run.finish(quiet=True)
        if self._callbacks:
            return True
        raise RunStopRequested(f"run {run.name} was stopped: a stop was requested on the "
                               "server. The run is finished; start a new one with nbtrack.init().")

"""What a run tells its listeners (the widget's UI thread): small frozen events.

Why classes and not strings: a listener matches on the event's type, which mypy knows,
so renaming or dropping an event fails type checking (and an exhaustive ``match``, as in
``nbtrack.notebook.ui``, names the event a listener forgot) instead of a ``dict.get`` that
quietly finds nothing.

Events are delivered in the thread that causes them: the thread running ``finish`` for
:class:`StateChanged`, :class:`FinishProgress` and :class:`Finished`; the logging
thread for :class:`AlertRaised` and :class:`StopRequested`. A listener must be cheap;
its exceptions are logged and swallowed (:class:`Listeners`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AlertRaised",
    "FinishProgress",
    "Finished",
    "Listener",
    "Listeners",
    "RunEvent",
    "StateChanged",
    "StopRequested",
]

logger = logging.getLogger("nbtrack.sdk.events")


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The run's state changed: ``finishing``, then ``finished`` / ``failed`` / ``detached``."""

    state: str


@dataclass(frozen=True, slots=True)
class FinishProgress:
    """Poll-exit progress, about 5 times a second while ``finish`` runs."""

    uploaded_bytes: int = 0
    total_bytes: int = 0
    uploaded_files: int = 0
    total_files: int = 0
    pending_lines: int = 0  # file-stream lines the server has not acknowledged yet
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The widget's ``finish`` trait."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class AlertRaised:
    """``run.alert`` sent an alert (not one suppressed by its rate limit)."""

    title: str
    text: str
    level: str


@dataclass(frozen=True, slots=True)
class StopRequested:
    """The server asked the run to stop; ``log`` noticed it and the run finishes."""


@dataclass(frozen=True, slots=True)
class Finished:
    """``finish`` is over: the final state, the summary and how to sync what was not sent."""

    state: str
    exit_code: int | None
    summary: Mapping[str, Any] = field(default_factory=dict)
    sync_command: str | None = None


RunEvent = StateChanged | FinishProgress | AlertRaised | StopRequested | Finished
Listener = Callable[[RunEvent], None]


class Listeners:
    """A run's listeners: ``add`` returns the remover; ``emit`` calls each, never raises."""

    def __init__(self) -> None:
        self._fns: list[Listener] = []
        self._lock = threading.Lock()

    def add(self, fn: Listener) -> Callable[[], None]:
        with self._lock:
            self._fns.append(fn)

        def remove() -> None:
            with self._lock:
                if fn in self._fns:
                    self._fns.remove(fn)

        return remove

    def emit(self, event: RunEvent) -> None:
        with self._lock:
            fns = list(self._fns)
        for fn in fns:
            try:
                fn(event)
            except Exception:
                logger.exception("nbtrack listener failed on %s", type(event).__name__)

    def __bool__(self) -> bool:
        """True while someone listens (finish fetches the final charts only then)."""
        return bool(self._fns)

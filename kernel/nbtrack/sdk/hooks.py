"""A tiny registry so the notebook layer can react to runs, and show them, without the core
importing it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("nbtrack.sdk.hooks")

EVENTS = ("run_init", "run_finish")
_registry: dict[str, list[Callable[[Any], None]]] = {name: [] for name in EVENTS}


def register(event: str, fn: Callable[[Any], None]) -> None:
    if event not in _registry:
        raise ValueError(f"unknown event {event!r}: expected one of {', '.join(EVENTS)}")
    if fn not in _registry[event]:
        _registry[event].append(fn)


def unregister(event: str, fn: Callable[[Any], None]) -> None:
    if fn in _registry.get(event, []):
        _registry[event].remove(fn)


def registered(event: str) -> list[Callable[[Any], None]]:
    """The hooks registered for ``event`` now, in call order (a copy)."""
    return list(_registry.get(event, []))


def emit(event: str, subject: Any) -> None:
    """Call every hook; a failing hook is logged, never raised into the caller."""
    for fn in list(_registry.get(event, [])):
        try:
            fn(subject)
        except Exception:
            logger.exception("nbtrack hook %r failed", event)


LiveView = Callable[[Any], "dict[str, Any] | None"]
_live_view: LiveView | None = None


def set_live_view(fn: LiveView | None) -> None:
    """The notebook layer's way to show a run: a mime bundle of its live widget, or None."""
    global _live_view
    _live_view = fn


def live_view(run: Any) -> dict[str, Any] | None:
    """The live widget's bundle for ``run`` if the notebook layer shows one; never raises."""
    fn = _live_view
    if fn is None:
        return None
    try:
        return fn(run)
    except Exception:  # a broken widget must not hide the run
        logger.exception("nbtrack live view failed")
        return None

"""A tiny event registry so the notebook layer can react to runs without the core importing it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("nbtrack.hooks")

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


def emit(event: str, subject: Any) -> None:
    """Call every hook; a failing hook is logged, never raised into the caller."""
    for fn in list(_registry.get(event, [])):
        try:
            fn(subject)
        except Exception:
            logger.exception("nbtrack hook %r failed", event)

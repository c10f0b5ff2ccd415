"""Waiting for a condition instead of sleeping a guessed time.

A test that sleeps and then checks passes whenever the bug is slower than the sleep; one that
waits for the condition (with a deadline that fails loudly) is both faster and honest.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
               message: str | Callable[[], str] = "condition not met") -> T:
    """Call ``condition`` until it returns something truthy and return that; raise
    ``AssertionError`` with ``message`` after ``timeout`` seconds. For state that has no event
    to wait on (another process, a server's storage, a thread we do not own)."""
    value = _poll(condition, timeout, interval)
    if not value:
        text = message() if callable(message) else message
        raise AssertionError(f"{text} (waited {timeout:g}s)")
    return value


def never_within(condition: Callable[[], object], seconds: float,
                 interval: float = 0.01) -> bool:
    """True when ``condition`` stayed falsy for all of ``seconds``: for "this must not happen
    (yet)", e.g. a debounce. Pair it with a positive wait for what must happen after."""
    return not _poll(condition, seconds, interval)


def _poll(condition: Callable[[], T], timeout: float, interval: float) -> T | None:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        # why: the one polling interval of the suite; what is polled has no event to wait on
        time.sleep(min(interval, left))


def wait_until_up(proc: subprocess.Popen[Any], probe: Callable[[], T], timeout: float,
                  what: str, log: Path | None = None) -> T:
    """Wait until ``probe()`` (which catches its own connection errors and returns something
    falsy while the server is not up yet) answers, while ``proc`` runs; ``AssertionError``
    naming ``what`` (with the tail of ``log``) when ``proc`` exits or ``timeout`` passes."""

    def tail() -> str:
        return "" if log is None else ":\n" + log.read_text(errors="replace")[-3000:]

    def up() -> T | None:
        value = probe()
        if value:
            return value
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited with {proc.returncode}{tail()}")
        return None

    return wait_until(up, timeout, message=lambda: f"{what} did not answer{tail()}")

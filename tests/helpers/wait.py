"""Waiting in tests on a condition instead of sleeping a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float = 5.0,
               interval: float = 0.01) -> bool:
    """True as soon as ``condition()`` is truthy; False when ``timeout`` s pass first.

    A False result is also how a test says "this did not happen within ``timeout``".
    """
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return bool(condition())
        time.sleep(min(interval, left))

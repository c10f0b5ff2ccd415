"""Alerts: ``run.alert(title, text, level, wait_duration)``'s checks, rate limit and record.

An alert travels as an ``AlertRecord`` to the sender, which sends W&B's
``notifyScriptableRunAlert`` mutation; the server keeps alerts per run
(``GET /api/v1/runs/<e>/<p>/<id>/alerts``).
"""

from __future__ import annotations

import datetime
import time

from nbtrack.proto import nbtrack_pb2 as pb

LEVELS = ("INFO", "WARN", "ERROR")
MAX_TITLE = 256
MAX_TEXT = 8192


def check_alert(title: str, text: str, level: str,
                wait_duration: float | datetime.timedelta) -> tuple[str, str, str, float]:
    """Validated ``(title, text, level, wait seconds)``; ValueError names the bad argument."""
    if not isinstance(title, str) or not title.strip():
        raise ValueError("alert: title must be a non-empty string")
    if not isinstance(text, str):
        raise ValueError("alert: text must be a string")
    lvl = str(getattr(level, "value", level)).upper()
    if lvl == "WARNING":
        lvl = "WARN"
    if lvl not in LEVELS:
        raise ValueError(f"alert: level={level!r}: expected one of {', '.join(LEVELS)}")
    if isinstance(wait_duration, datetime.timedelta):
        wait = wait_duration.total_seconds()
    else:
        wait = float(wait_duration or 0.0)
    if wait < 0:
        raise ValueError("alert: wait_duration must be >= 0")
    return title[:MAX_TITLE], text[:MAX_TEXT], lvl, wait


class AlertLimiter:
    """At most one alert per title per ``wait`` seconds (W&B's ``wait_duration``)."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def allow(self, title: str, wait: float) -> bool:
        """True (and the title's clock restarts) unless ``title`` was sent < ``wait`` s ago."""
        now = time.monotonic()
        last = self._last.get(title)
        if last is not None and now - last < wait:
            return False
        self._last[title] = now
        return True


def alert_record(title: str, text: str, level: str) -> pb.Record:
    record = pb.Record()
    alert = record.alert
    alert.title, alert.text, alert.level, alert.timestamp = title, text, level, time.time()
    return record

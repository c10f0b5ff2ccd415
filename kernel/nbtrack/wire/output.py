"""The ``output.log`` line format of the W&B wire: ``[ERROR ]<UTC ISO time> <text>``.

One console line per file line; a line written to stderr starts with ``ERROR ``.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

STDERR_PREFIX = "ERROR "


def format_line(line: str, stderr: bool, timestamp: float) -> str:
    """An ``output.log`` line for console text (its trailing newline dropped)."""
    ts = datetime.datetime.fromtimestamp(
        timestamp or time.time(), tz=datetime.timezone.utc
    ).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{STDERR_PREFIX if stderr else ''}{ts} {line.rstrip(chr(10))}"


def parse_line(line: str) -> dict[str, Any]:
    """``{"time": iso | None, "stream": "stdout" | "stderr", "text"}`` of a stored line; a
    line without a time stamp keeps its whole text."""
    stream = "stdout"
    if line.startswith(STDERR_PREFIX):
        stream, line = "stderr", line[len(STDERR_PREFIX) :]
    ts, sep, text = line.partition(" ")
    if not sep or len(ts) < 19 or ts[4:5] != "-":
        return {"time": None, "stream": stream, "text": line}
    return {"time": ts, "stream": stream, "text": text}

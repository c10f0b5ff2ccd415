"""Reading a transaction log the way the crash tests need: while its process still writes it.

``wait_rows_logged`` is the positive event a crash test waits for before it kills the
writer ("at least n rows are on disk"), instead of sleeping a guessed number of flushes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nbtrack.txlog import read_records

from helpers.wait import wait_until


def logged_rows(path: str | Path) -> list[dict[str, Any]]:
    """The history rows in the log at ``path``, in order (a torn tail is no error)."""
    return [json.loads(r) for rec in read_records(Path(path)) if rec.HasField("history")
            for r in rec.history.rows]


def logged_row_count(path: str | Path) -> int:
    """How many history rows the log holds; 0 while the file does not exist yet."""
    try:
        return sum(len(rec.history.rows) for rec in read_records(Path(path))
                   if rec.HasField("history"))
    except FileNotFoundError:
        return 0


def wait_rows_logged(path: str | Path, n: int, timeout: float = 30.0) -> int:
    """Until the log at ``path`` holds at least ``n`` history rows; returns how many."""
    return wait_until(lambda: (c := logged_row_count(path)) >= n and c, timeout,
                      message=lambda: f"{logged_row_count(path)} of {n} rows in {path}")

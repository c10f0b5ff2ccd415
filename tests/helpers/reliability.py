"""The reliability suites' two modes and their figures: short by default (CI), long with
``NBTRACK_LONG=1``. ``pick(short, long)`` chooses a parameter by the mode; figures measured
by the tests are appended as JSON lines to ``$NBTRACK_FIGURES`` when set
(``scripts/reliability.sh`` collects them for ``docs/reliability.md``)."""

from __future__ import annotations

import json
import os
from typing import Any, TypeVar

LONG = os.environ.get("NBTRACK_LONG", "") not in ("", "0")
# read once: the tests' nbtrack_dir fixture clears every NBTRACK_* variable
FIGURES = os.environ.get("NBTRACK_FIGURES", "")
T = TypeVar("T")


def pick(short: T, long: T) -> T:
    return long if LONG else short


def record_figure(name: str, **values: Any) -> None:
    """Keep a measured figure for the report (no-op unless NBTRACK_FIGURES is set)."""
    target = FIGURES
    print(f"FIGURE {name}: {json.dumps(values, default=str)}")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "long": LONG, **values}, default=str) + "\n")

"""Min/max bucket downsampling of history rows on the server.

Plain striding hides spikes; keeping each bucket's min and max row per key (and the last
row) keeps every extreme visible at any zoom, with at most ``2 * samples + 1`` rows per key.
"""

from __future__ import annotations

import math
from typing import Any


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return None if math.isnan(f) else f


def numeric_keys(rows: list[dict[str, Any]]) -> list[str]:
    """Keys with at least one numeric value, internal ``_`` keys excluded, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if k not in seen and not k.startswith("_") and _num(v) is not None:
                seen[k] = None
    return list(seen)


def downsample(
    rows: list[dict[str, Any]], keys: list[str] | None, samples: int
) -> list[dict[str, Any]]:
    """``rows`` sorted by ``_step``; returns the kept rows (``_step`` + keys), by step."""
    rows = [r for r in rows if type(r.get("_step")) in (int, float)]
    if not rows or samples <= 0:
        return []
    keys = keys if keys is not None else numeric_keys(rows)
    first, last = rows[0]["_step"], rows[-1]["_step"]
    span = max(last - first + 1, 1)
    # per key and bucket: [min value, its row, max value, its row]
    best: dict[str, list[list[Any] | None]] = {k: [None] * samples for k in keys}
    last_row: dict[str, int] = {}
    top = samples - 1
    for i, row in enumerate(rows):
        b = min(int((row["_step"] - first) * samples // span), top)
        for key in keys:
            v = row.get(key)
            if type(v) not in (int, float) or v != v:  # bools, strings, None and NaN skipped
                continue
            last_row[key] = i
            cell = best[key][b]
            if cell is None:
                best[key][b] = [v, i, v, i]
            elif v < cell[0]:
                cell[0], cell[1] = v, i
            elif v > cell[2]:
                cell[2], cell[3] = v, i
    keep = {len(rows) - 1, *last_row.values()}
    for cells in best.values():
        for cell in cells:
            if cell is not None:
                keep.add(cell[1])
                keep.add(cell[3])
    out = []
    for i in sorted(keep):
        row = rows[i]
        item = {"_step": row["_step"]}
        for key in keys:
            if key in row:
                item[key] = row[key]
        out.append(item)
    return out

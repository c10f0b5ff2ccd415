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
    rows = [r for r in rows if isinstance(r.get("_step"), int | float)]
    if not rows or samples <= 0:
        return []
    keys = keys if keys is not None else numeric_keys(rows)
    first, last = rows[0]["_step"], rows[-1]["_step"]
    span = max(last - first + 1, 1)
    keep: set[int] = {len(rows) - 1}
    for key in keys:
        lo: dict[int, tuple[float, int]] = {}
        hi: dict[int, tuple[float, int]] = {}
        last_idx = -1
        for i, row in enumerate(rows):
            v = _num(row.get(key))
            if v is None:
                continue
            last_idx = i
            b = min(int((row["_step"] - first) * samples // span), samples - 1)
            cur = lo.get(b)
            if cur is None or v < cur[0]:
                lo[b] = (v, i)
            cur = hi.get(b)
            if cur is None or v > cur[0]:
                hi[b] = (v, i)
        keep.update(i for _, i in lo.values())
        keep.update(i for _, i in hi.values())
        if last_idx >= 0:
            keep.add(last_idx)
    out = []
    for i in sorted(keep):
        row = rows[i]
        item = {"_step": row["_step"]}
        for key in keys:
            if key in row:
                item[key] = row[key]
        out.append(item)
    return out

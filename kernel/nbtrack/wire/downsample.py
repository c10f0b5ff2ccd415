"""Min/max bucket downsampling of history rows: the one downsampler and its one value rule.

Plain striding hides spikes; keeping each bucket's min and max row per key (and the last
row) keeps every extreme visible at any zoom, with at most ``2 * samples + 1`` rows per key.
The server's read API downsamples stored rows with :func:`downsample`; its precomputed
history levels (``nbtrack.server.readapi.levels``) reduce their blocks into output buckets
with the same :class:`Extremes` and count the same values (:func:`sampled`).

The value rule: a value is sampled when it is a JSON number, ``int`` or ``float`` (a bool is
not), and not NaN; ``+inf`` / ``-inf`` are ordinary extremes. Strings, None, lists and NaN
never become a bucket's min or max.
"""

from __future__ import annotations

from typing import Any


def sampled(v: Any) -> bool:
    """The value rule: an ``int`` or ``float`` (not a bool), not NaN; ±inf count."""
    t = type(v)
    return (t is int or t is float) and v == v


class Extremes:
    """Per bucket, the minimum and the maximum value and where each was seen.

    ``cells[bucket] = [min value, its position, max value, its position]``; a position is
    whatever the caller locates a value by (a row index, a step). Ties keep the first seen.
    """

    __slots__ = ("cells",)

    def __init__(self) -> None:
        self.cells: dict[int, list[Any]] = {}

    def add(self, bucket: int, value: Any, at: Any) -> None:
        """Count ``value`` (already :func:`sampled`) seen at ``at`` in ``bucket``."""
        cell = self.cells.get(bucket)
        if cell is None:
            self.cells[bucket] = [value, at, value, at]
            return
        if value < cell[0]:
            cell[0], cell[1] = value, at
        if value > cell[2]:
            cell[2], cell[3] = value, at


def numeric_keys(rows: list[dict[str, Any]]) -> list[str]:
    """Keys with at least one sampled value, internal ``_`` keys excluded, first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if k not in seen and not k.startswith("_") and sampled(v):
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
    best = {k: Extremes() for k in keys}  # positions are row indexes
    last_row: dict[str, int] = {}
    top = samples - 1
    for i, row in enumerate(rows):
        b = min(int((row["_step"] - first) * samples // span), top)
        for key in keys:
            v = row.get(key)
            t = type(v)
            if (t is not int and t is not float) or v != v:  # sampled(v), inlined: per value
                continue
            last_row[key] = i
            best[key].add(b, v, i)
    keep = {len(rows) - 1, *last_row.values()}
    for extremes in best.values():
        for cell in extremes.cells.values():
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

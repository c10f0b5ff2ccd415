"""Precomputed coarse levels of a run's history, for fast downsampled queries on long runs.

Per run and numeric key the index keeps a min/max pyramid: level 0 holds, for every block
of ``BASE`` (16) consecutive steps, the minimum and maximum value with their steps; level
``l`` does the same for blocks of ``BASE * FACTOR**l`` steps, built from level ``l - 1``.
A query for ``samples`` points over ``[min_step, max_step]`` picks output buckets aligned to
a level's blocks, so each bucket's min and max are exact (a one-step spike is the maximum of
every block that holds it and shows at every zoom) and costs about ``samples * FACTOR``
block reads per key instead of parsing every row. The ragged ends of a range that are not
aligned to level 0 (fewer than ``BASE`` steps each) are read from the stored rows.

An index lives in the server's memory (:mod:`.levelcache` keeps one per recent run), is
built lazily on the first query of a run (one pass over its rows) and extended
incrementally with the rows stored since (history steps only grow). Zooms finer than
``BASE`` steps per sample read the stored rows directly. Which values count and how a
bucket keeps its extremes is :mod:`nbtrack.wire.downsample`'s, as for the stored rows.
"""

from __future__ import annotations

import json
import threading
from array import array
from typing import Any

from nbtrack.server.storage.base import Storage
from nbtrack.wire.downsample import Extremes

BASE = 16
FACTOR = 4
LEVELS = 9  # 16 … 16 * 4**8 = 1,048,576 steps per block
EMPTY = -(2**62)
_INF = float("inf")


def _width(level: int) -> int:
    return BASE * FACTOR**level


class Level:
    """Blocks of one width: min value/step and max value/step per block (EMPTY: no point)."""

    __slots__ = ("maxs", "maxv", "mins", "minv")

    def __init__(self) -> None:
        self.minv = array("d")
        self.mins = array("q")
        self.maxv = array("d")
        self.maxs = array("q")

    def grow(self, n: int) -> None:
        extra = n - len(self.minv)
        if extra > 0:
            self.minv.extend([_INF] * extra)
            self.mins.extend([EMPTY] * extra)
            self.maxv.extend([-_INF] * extra)
            self.maxs.extend([EMPTY] * extra)


class Series:
    __slots__ = ("dirty_from", "last", "levels")

    def __init__(self) -> None:
        self.levels = [Level() for _ in range(LEVELS)]
        self.last: tuple[int, float] | None = None
        self.dirty_from: int | None = None  # first level-0 block changed since the rebuild


class RunIndex:
    """The pyramid of one run; ``base`` is its first step (blocks count from there)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.base: int | None = None
        self.first: int | None = None
        self.last_step: int | None = None  # the highest step indexed
        self.lines_seen = 0
        self.series: dict[str, Series] = {}

    # ---------------------------------------------------------------- building

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """Index rows in step order (rows at or below the highest indexed step are skipped)."""
        fresh: list[tuple[int, dict[str, Any]]] = []
        top = self.last_step
        for row in rows:
            step = row.get("_step")
            if type(step) is not int:
                if type(step) is float and step.is_integer():
                    step = int(step)
                else:
                    continue
            if top is None or step > top:
                fresh.append((step, row))
                top = step
        if not fresh:
            return
        if self.base is None:
            first = fresh[0][0]
            self.base, self.first = first - first % BASE, first
        base = self.base
        self.last_step = top
        assert top is not None
        nblocks = (top - base) // BASE + 1
        cols: dict[str, tuple[array[float], array[int], array[float], array[int]]] = {}
        last_row: dict[str, tuple[int, dict[str, Any]]] = {}
        for step, row in fresh:
            b = (step - base) // BASE
            for key, v in row.items():
                t = type(v)
                if (t is not float and t is not int) or v != v or key == "_step":
                    continue  # not sampled(v) (nbtrack.wire.downsample), inlined: per value
                c = cols.get(key)
                if c is None:
                    s = self.series.get(key)
                    if s is None:
                        s = self.series[key] = Series()
                    lv = s.levels[0]
                    lv.grow(nblocks)
                    c = cols[key] = (lv.minv, lv.mins, lv.maxv, lv.maxs)
                if v < c[0][b]:
                    c[0][b] = v
                    c[1][b] = step
                if v > c[2][b]:
                    c[2][b] = v
                    c[3][b] = step
                last_row[key] = (step, row)
        first_block = (fresh[0][0] - base) // BASE
        for key, (step, row) in last_row.items():
            s = self.series[key]
            s.last = (step, float(row[key]))
            if s.dirty_from is None or first_block < s.dirty_from:
                s.dirty_from = first_block

    def rebuild(self) -> None:
        """Recompute the coarser levels over the blocks changed since the last rebuild."""
        for s in self.series.values():
            if s.dirty_from is None:
                continue
            lo = s.dirty_from
            for level in range(1, LEVELS):
                lo //= FACTOR
                fine, coarse = s.levels[level - 1], s.levels[level]
                n = (len(fine.minv) + FACTOR - 1) // FACTOR
                coarse.grow(n)
                for j in range(lo, n):
                    mv, ms, xv, xs = _INF, EMPTY, -_INF, EMPTY
                    for c in range(j * FACTOR, min(j * FACTOR + FACTOR, len(fine.minv))):
                        if fine.mins[c] != EMPTY and fine.minv[c] < mv:
                            mv, ms = fine.minv[c], fine.mins[c]
                        if fine.maxs[c] != EMPTY and fine.maxv[c] > xv:
                            xv, xs = fine.maxv[c], fine.maxs[c]
                    coarse.minv[j], coarse.mins[j] = mv, ms
                    coarse.maxv[j], coarse.maxs[j] = xv, xs
            s.dirty_from = None

    # ---------------------------------------------------------------- querying

    def query(
        self, storage: Storage, rid: int, keys: list[str] | None, samples: int,
        lo: int | None, hi: int | None,
    ) -> list[dict[str, Any]] | None:
        """Downsampled rows, or None when the range is too fine for the levels."""
        if self.base is None or self.first is None or self.last_step is None:
            return []
        lo = self.first if lo is None else max(lo, self.first)
        hi = self.last_step if hi is None else min(hi, self.last_step)
        if hi < lo:
            return []
        span = hi - lo + 1
        if span < BASE * samples:
            return None
        level = 0
        while level + 1 < LEVELS and _width(level + 1) * samples <= span:
            level += 1
        w = _width(level)
        k = max(1, -(-span // (samples * w)))
        while (hi - self.base) // (k * w) - (lo - self.base) // (k * w) + 1 > samples:
            k += 1
        bw = k * w  # output bucket width, a multiple of the level's (and level 0's) width
        names = (
            [n for n in keys if n in self.series]
            if keys is not None
            else [n for n in self.series if not n.startswith("_")]
        )
        picks = {n: Extremes() for n in names}  # per output bucket; positions are steps
        base = self.base

        def take(name: str, step: int, v: float) -> None:
            picks[name].add((step - base) // bw, v, step)

        # blocks of at most the level's width inside [lo, hi]; ragged ends from stored rows
        pieces = _cover(lo - base, hi - base, level)
        raw_ranges = [(a + base, b + base) for lvl, a, b in pieces if lvl < 0]
        for name in names:
            levels = self.series[name].levels
            for lvl, a, b in pieces:
                if lvl < 0:
                    continue
                L = levels[lvl]
                n = len(L.minv)
                if lvl == level and k > 1:
                    # whole output buckets: min / max over k blocks at C speed
                    g = a
                    while g <= b and g < n:
                        end = min((g // k + 1) * k, b + 1, n)
                        mv = min(L.minv[g:end])
                        if mv != _INF:
                            j = L.minv.index(mv, g, end)
                            take(name, L.mins[j], mv)
                        xv = max(L.maxv[g:end])
                        if xv != -_INF:
                            j = L.maxv.index(xv, g, end)
                            take(name, L.maxs[j], xv)
                        g = end
                    continue
                for j in range(a, min(b + 1, n)):
                    if L.mins[j] != EMPTY:
                        take(name, L.mins[j], L.minv[j])
                    if L.maxs[j] != EMPTY:
                        take(name, L.maxs[j], L.maxv[j])
        for a, b in raw_ranges:
            for line in storage.history(rid, a, b):
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                step = row.get("_step") if isinstance(row, dict) else None
                if type(step) is not int:
                    continue
                for name in names:
                    v = row.get(name)
                    if (type(v) is float or type(v) is int) and v == v:  # sampled(v)
                        take(name, step, v)
        out: dict[int, dict[str, Any]] = {}
        for name in names:
            for cell in picks[name].cells.values():
                out.setdefault(cell[1], {"_step": cell[1]})[name] = cell[0]
                out.setdefault(cell[3], {"_step": cell[3]})[name] = cell[2]
            last = self.series[name].last
            if last is not None and lo <= last[0] <= hi:
                out.setdefault(last[0], {"_step": last[0]})[name] = last[1]
        if keys is None:  # whole rows (every key) at the kept steps, as the raw path gives
            return _full_rows(storage, rid, sorted(out), names)
        return [out[s] for s in sorted(out)]


def _full_rows(storage: Storage, rid: int, steps: list[int], names: list[str]
               ) -> list[dict[str, Any]]:
    """The stored rows at ``steps`` (sorted), restricted to ``_step`` and ``names``; steps
    close together are read with one range query."""
    wanted = set(steps)
    keep = {"_step", *names}
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(steps):
        j = i
        while j + 1 < len(steps) and steps[j + 1] - steps[j] <= BASE:
            j += 1
        for line in storage.history(rid, steps[i], steps[j]):
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and row.get("_step") in wanted:
                out.append({k: v for k, v in row.items() if k in keep})
        i = j + 1
    return out


def _cover(a: int, b: int, level: int) -> list[tuple[int, int, int]]:
    """``(level, first block, last block)`` pieces covering offsets ``[a, b]`` exactly;
    level -1 pieces are step offsets to read from the stored rows."""
    if a > b:
        return []
    if level < 0:
        return [(-1, a, b)]
    w = _width(level)
    first = -(-a // w)
    last = (b + 1) // w - 1
    if first > last:
        return _cover(a, b, level - 1)
    return [
        *_cover(a, first * w - 1, level - 1),
        (level, first, last),
        *_cover((last + 1) * w, b, level - 1),
    ]

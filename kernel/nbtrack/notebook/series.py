"""The live widget's copy of every metric series, and the small binary patches that keep the
front end's copy equal to it.

Why not resend the sampled history: with 50 metrics logged every step it is 50 × ~1,000
points, several times a second (2.5 MB/s measured). Here each key is a min/max reduction of
what ``run.sampled_history()`` showed so far: points in step order, at most two per bucket
of ``2**shift`` steps from the key's first step (the bucket's minimum and maximum, earliest
step on ties), at most ``MAX_BUCKETS`` buckets, plus the last value logged. New sampled
points (steps past the last one seen) are folded into the last buckets; everything earlier
stays as it is, so an update is "keep the first ``keep`` points, append these". When a key
fills its buckets, or one update would carry more points than its share of the per-update
budget (``UPDATE_POINTS`` over all keys), its buckets merge pairwise (``shift`` + 1). Both
sides merge the same way (``regroup``; ``js/src/widget/seriesstore.js``), so a merge costs
nothing on the wire. The price is detail: with many fast keys the live charts get coarser
(the extremes of every bucket stay, so a spike stays visible); the finished run is rebuilt
once at full resolution.

A patch is a custom comm message ``{"nbtrack": "series", "rev", "full", "reset"}`` with two
binary buffers (little-endian): uint16 ``[key, shift, keep, n]`` per key and float64
``[last, last_step, steps × n, values × n]`` per key. ``reset`` lists ``[key, name, origin]``
of keys (re)started from nothing (``keep`` is 0). A ``full`` patch holds every key and
replaces the front end's copy (the ``series`` trait's state: a view that is new or reloaded
gets the whole current state); ``rev`` counts the non-full patches, so the front end notices
a missed one and asks for a full patch.
"""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_BUCKETS", "UPDATE_POINTS", "Patch", "SeriesMirror", "regroup"]

MAX_BUCKETS = 512
UPDATE_POINTS = 192  # points per update over all keys (a key gets at least MIN_KEY_POINTS)
MIN_KEY_POINTS = 4
MAX_KEYS = 65535  # key ids are uint16
_MAX_SHIFT = 62


def regroup(steps: Sequence[int], values: Sequence[float], origin: int, shift: int,
            start: int = 0) -> tuple[list[int], list[float]]:
    """``steps[start:]`` / ``values[start:]`` reduced to each bucket's minimum and maximum
    (earliest step on ties, one point when both are the same), in step order."""
    out_s: list[int] = []
    out_v: list[float] = []
    i, n = start, len(steps)
    while i < n:
        b = (steps[i] - origin) >> shift
        mn = mx = i
        j = i + 1
        while j < n and (steps[j] - origin) >> shift == b:
            if values[j] < values[mn]:
                mn = j
            if values[j] > values[mx]:
                mx = j
            j += 1
        for k in ((mn,) if mn == mx else (mn, mx) if mn < mx else (mx, mn)):
            out_s.append(steps[k])
            out_v.append(values[k])
        i = j
    return out_s, out_v


@dataclass
class _Key:
    """One series as both sides hold it."""

    id: int
    name: str
    origin: int
    shift: int = 0
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    last: float = math.nan
    last_step: int = 0
    hi: int | None = None  # the highest sampled step folded in
    count: int = 0  # values logged, as the sampled history says (not sent)

    def bucket(self, step: int) -> int:
        return (step - self.origin) >> self.shift

    def first_in(self, bucket: int) -> int:
        """Index of the first point in ``bucket`` or later."""
        return bisect_right(self.steps, self.origin + (bucket << self.shift) - 1)

    def fits(self) -> bool:
        return not self.steps or self.bucket(self.steps[-1]) < MAX_BUCKETS

    def merge(self) -> None:
        self.shift += 1
        self.steps, self.values = regroup(self.steps, self.values, self.origin, self.shift)

    def view(self) -> dict[str, Any]:
        steps, values = list(self.steps), list(self.values)
        if not steps or self.last_step > steps[-1]:
            steps.append(self.last_step)
            values.append(self.last)
        known = [v for v in self.values if v == v]  # no NaN in buckets; ±inf count
        return {"steps": steps, "values": values,
                "min": min(known) if known else math.nan,
                "max": max(known) if known else math.nan,
                "last": self.last, "count": self.count}


@dataclass
class Patch:
    """One update of the front end's copy (see the module docstring)."""

    rev: int
    full: bool
    reset: list[list[Any]] = field(default_factory=list)
    ints: array[int] = field(default_factory=lambda: array("H"))
    floats: array[float] = field(default_factory=lambda: array("d"))
    keys: int = 0
    points: int = 0

    def add(self, key: _Key, keep: int) -> None:
        n = len(key.steps) - keep
        self.ints.extend((key.id, key.shift, keep, n))
        self.floats.extend((key.last, float(key.last_step)))
        self.floats.extend(map(float, key.steps[keep:]))
        self.floats.extend(key.values[keep:])
        self.keys += 1
        self.points += n

    def buffers(self) -> list[bytes]:
        ints, floats = array("H", self.ints), array("d", self.floats)
        if sys.byteorder == "big":
            ints.byteswap()
            floats.byteswap()
        return [ints.tobytes(), floats.tobytes()]

    def content(self) -> dict[str, Any]:
        return {"nbtrack": "series", "rev": self.rev, "full": self.full, "reset": self.reset}

    def state(self) -> dict[str, Any]:
        """The ``series`` trait's JSON form: ipywidgets moves the buffers out of it."""
        ints, floats = self.buffers()
        return {**self.content(), "ints": memoryview(ints), "floats": memoryview(floats)}


class SeriesMirror(Mapping[str, dict[str, Any]]):
    """Every key's series as the front end holds it; ``update`` makes the next patch.

    A mapping of key → ``{steps, values, min, max, last, count}`` (what the charts show;
    ``min`` / ``max`` over the points kept, ``count`` from the sampled history).
    """

    def __init__(self) -> None:
        self._keys: dict[str, _Key] = {}
        self.rev = 0

    # ---- Mapping ------------------------------------------------------------------------

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self._keys[name].view()

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    # ---- patches ------------------------------------------------------------------------

    def full(self) -> Patch:
        """Every key from nothing, at the current ``rev``."""
        patch = Patch(self.rev, True)
        for key in self._keys.values():
            patch.reset.append([key.id, key.name, key.origin])
            patch.add(key, 0)
        return patch

    def update(self, series: Mapping[str, Mapping[str, Any]], *, rebuild: bool = False
               ) -> Patch | None:
        """Fold ``series`` (``sampled_history()["series"]`` of the changed keys) in; the
        patch that brings the front end's copy along, or None when nothing changed.
        ``rebuild``: start every key again from the sampled history at full resolution
        (the finished run)."""
        patch = Patch(self.rev + 1, False)
        budget = max(MIN_KEY_POINTS, UPDATE_POINTS // max(1, len(series)))
        for name, data in series.items():
            steps: Sequence[int] = data.get("steps") or []
            values: Sequence[float] = data.get("values") or []
            if not steps or len(steps) != len(values):
                continue
            key = self._keys.get(name)
            if key is None or rebuild:
                if key is None and len(self._keys) >= MAX_KEYS:
                    continue
                key = self._start(name, key, [int(x) for x in steps],
                                  [float(v) for v in values], data)
                patch.reset.append([key.id, key.name, key.origin])
                patch.add(key, 0)
                continue
            keep = self._fold(key, steps, values, data, budget)
            if keep is not None:
                patch.add(key, keep)
        if not patch.keys:
            return None
        self.rev = patch.rev
        return patch

    def _start(self, name: str, old: _Key | None, steps: list[int], values: list[float],
               data: Mapping[str, Any]) -> _Key:
        key = _Key(old.id if old is not None else len(self._keys), name, steps[0])
        self._keys[name] = key
        self._facts(key, steps, data)
        ks = [s for s, v in zip(steps, values, strict=True) if v == v]
        kv = [v for v in values if v == v]
        while ks and (ks[-1] - key.origin) >> key.shift >= MAX_BUCKETS:
            key.shift += 1
        key.steps, key.values = regroup(ks, kv, key.origin, key.shift)
        return key

    @staticmethod
    def _facts(key: _Key, steps: Sequence[int], data: Mapping[str, Any]) -> None:
        key.hi = int(steps[-1])
        key.last_step = int(steps[-1])
        key.last = float(data.get("last", math.nan))
        key.count = int(data.get("count") or 0)

    def _fold(self, key: _Key, steps: Sequence[int], values: Sequence[float],
              data: Mapping[str, Any], budget: int) -> int | None:
        """Fold the points past ``key.hi`` in; the ``keep`` of its patch, None: no news.
        Only the points past ``key.hi`` are read (the sampled history is ~1,000 a key)."""
        at = bisect_right(steps, key.hi) if key.hi is not None else 0
        new = [(int(s), float(v)) for s, v in zip(steps[at:], values[at:], strict=True)
               if v == v]
        last = float(data.get("last", math.nan))
        if not new and steps[-1] == key.last_step and _same(last, key.last):
            return None
        old_shift, old_steps, old_values = key.shift, key.steps, key.values
        self._facts(key, steps, data)
        if not new:
            return len(key.steps)
        key.steps = old_steps + [s for s, _ in new]
        key.values = old_values + [v for _, v in new]
        first = new[0][0]
        while True:
            while not key.fits():
                key.merge()
            start = key.first_in(key.bucket(first))
            head_s, head_v = key.steps[:start], key.values[:start]
            tail_s, tail_v = regroup(key.steps, key.values, key.origin, key.shift, start)
            steps_now, values_now = head_s + tail_s, head_v + tail_v
            if key.shift == old_shift:
                mine_s, mine_v = old_steps, old_values
            else:
                mine_s, mine_v = regroup(old_steps, old_values, key.origin, key.shift)
            keep = start
            limit = min(len(mine_s), len(steps_now))
            while keep < limit and mine_s[keep] == steps_now[keep] and _same(
                    mine_v[keep], values_now[keep]):
                keep += 1
            key.steps, key.values = steps_now, values_now
            if len(steps_now) - keep <= budget or key.shift >= _MAX_SHIFT:
                return keep
            key.merge()


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)

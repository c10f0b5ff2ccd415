"""Bounded sampled history per metric that keeps every series' extremes.

Each numeric series gets a :class:`SeriesSampler`: at most ``max_buckets``
step ranges of equal width (the first starts at the first step seen). Every
bucket keeps its minimum and its maximum together with their steps; when a
step falls past the last bucket, neighbouring buckets are merged pairwise and
the width doubles. Memory is therefore bounded by ``max_buckets`` no matter how
long the run is, and a one-step spike stays visible forever: it is the maximum
(or minimum) of whichever bucket holds it, and merging keeps the extreme of the
pair. A snapshot is at most ``2 * max_buckets + 1`` points (each bucket's min
and max, plus the last point) in step order.

Work is done per batch, not per value: a batch's columns are split by bucket
with ``bisect`` and each piece is reduced with the ``min``/``max``/``sum``
builtins.

Value rules:

- numeric means ``int`` or ``float`` (and their subclasses) but not ``bool``;
  strings, ``None``, lists and everything else are not sampled;
- NaN is skipped for the bucket and series min / max (a bucket holding only
  NaN keeps no point); it still counts in ``count`` and may be the ``last``
  value, so the final point of a series that ends in NaN shows NaN;
- ``+inf`` / ``-inf`` are ordinary extremes: they stay visible as a bucket's
  max / min and in the series min / max.

Steps given to one sampler must be non-decreasing (the handler's are strictly
increasing).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_MAX_BUCKETS",
    "HistorySampler",
    "SampledSeries",
    "SeriesSampler",
    "drop_nan",
    "is_numeric_type",
    "numeric_columns",
]

DEFAULT_MAX_BUCKETS = 512
_NAN = float("nan")
_PLAIN_NUMERIC = frozenset((float, int))

Column = tuple[Sequence[int], Sequence[Any]]


def is_numeric_type(t: type) -> bool:
    """True for ``int`` / ``float`` and their subclasses, False for ``bool``."""
    return t in _PLAIN_NUMERIC or (issubclass(t, (int, float)) and not issubclass(t, bool))


def _to_float(v: Any) -> float:
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def drop_nan(
    steps: Sequence[int] | None, values: Sequence[Any]
) -> tuple[Sequence[int] | None, Sequence[Any], Any]:
    """``(steps, values, total)`` without the NaN values; ``total`` is their sum.

    The common case (no NaN) costs one ``sum`` and returns the inputs as they are.
    ``steps`` may be None when only the values matter.
    ``total`` may still be NaN when the column holds both +inf and -inf.
    """
    try:
        total = sum(values)
    except OverflowError:  # an int too large for a float, mixed with floats
        values = [_to_float(v) for v in values]
        total = sum(values)
    if total == total:
        return steps, values, total
    keep = [i for i, v in enumerate(values) if v == v]
    if len(keep) == len(values):  # +inf and -inf, no NaN
        return steps, values, total
    kept_values = [values[i] for i in keep]
    kept_steps = None if steps is None else [steps[i] for i in keep]
    return kept_steps, kept_values, sum(kept_values)


def numeric_columns(
    steps: Sequence[int], rows: Sequence[Mapping[str, Any]], *, skip_private: bool = True,
    text: set[str] | None = None,
) -> tuple[set[str], dict[str, tuple[list[int], list[Any]]]]:
    """Split committed rows into per-key numeric columns.

    Returns ``(keys, columns)``: ``keys`` is every key present in ``rows``;
    ``columns[key] = (steps, values)`` for keys with at least one numeric value
    (only the numeric values and their steps). Keys starting with ``_`` get no
    column when ``skip_private`` is set. Keys with a string value are added to ``text``
    (found off the all-numbers fast path, so it costs nothing there).
    """
    if not rows:
        return set(), {}
    keys: set[str] = set().union(*rows)
    steps = list(steps)
    out: dict[str, tuple[list[int], list[Any]]] = {}
    for key in keys:
        if skip_private and key.startswith("_"):
            continue
        try:
            col = [r[key] for r in rows]
            ksteps = steps
        except KeyError:
            ksteps = []
            col = []
            for s, r in zip(steps, rows, strict=True):
                if key in r:
                    ksteps.append(s)
                    col.append(r[key])
        types = set(map(type, col))
        if types <= _PLAIN_NUMERIC:
            out[key] = (ksteps, col)
            continue
        if text is not None and str in types:
            text.add(key)
        numeric = {t for t in types if is_numeric_type(t)}
        if not numeric:
            continue
        keep = [i for i, v in enumerate(col) if type(v) in numeric]
        out[key] = ([ksteps[i] for i in keep], [col[i] for i in keep])
    return keys, out


@dataclass(frozen=True)
class SampledSeries:
    """A snapshot of one series: points in step order plus whole-run facts."""

    key: str
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    min: float = _NAN  # over every non-NaN value of the run; NaN when none
    max: float = _NAN
    last: float = _NAN  # the last value logged (may be NaN)
    count: int = 0  # every value logged, NaN included


class SeriesSampler:
    """Bucketed min/max reservoir for one numeric series; memory independent of length."""

    __slots__ = (
        "_buckets",
        "_origin",
        "_width",
        "count",
        "last",
        "last_step",
        "max",
        "max_buckets",
        "min",
    )

    def __init__(self, max_buckets: int = DEFAULT_MAX_BUCKETS) -> None:
        if max_buckets < 1:
            raise ValueError("max_buckets must be at least 1")
        self.max_buckets = max_buckets
        # bucket b covers steps [origin + b*width, origin + (b+1)*width);
        # each entry is None or [min_value, min_step, max_value, max_step]
        self._buckets: list[list[Any] | None] = []
        self._origin: int | None = None
        self._width = 1
        self.count = 0
        self.min: float = _NAN
        self.max: float = _NAN
        self.last: float = _NAN
        self.last_step: int | None = None

    @property
    def width(self) -> int:
        """Steps per bucket (a power of two)."""
        return self._width

    def add(self, step: int, value: Any) -> None:
        self.add_batch((step,), (value,))

    def add_batch(self, steps: Sequence[int], values: Sequence[Any]) -> None:
        """Add numeric ``values`` logged at non-decreasing ``steps``."""
        n = len(values)
        if n == 0:
            return
        if len(steps) != n:
            raise ValueError(f"{len(steps)} steps for {n} values")
        self.count += n
        self.last = _to_float(values[-1])
        self.last_step = steps[-1]
        if self._origin is None:
            self._origin = steps[0]
        kept_steps, values, _total = drop_nan(steps, values)
        n = len(values)
        if n == 0 or kept_steps is None:
            return
        steps = kept_steps
        origin = self._origin
        last_step = steps[-1]
        while (last_step - origin) // self._width >= self.max_buckets:
            self._merge()
        width = self._width
        buckets = self._buckets
        need = (last_step - origin) // width + 1
        if len(buckets) < need:
            buckets.extend([None] * (need - len(buckets)))
        bmin = self.min
        bmax = self.max
        i = 0
        while i < n:
            b = (steps[i] - origin) // width
            if b < 0:
                b = 0
            end_step = origin + (b + 1) * width
            j = n if last_step < end_step else bisect_left(steps, end_step, i)
            if j == i + 1:
                cmn = cmx = values[i]
                smn = smx = steps[i]
            else:
                chunk = values if (i == 0 and j == n) else values[i:j]
                cmn = min(chunk)
                cmx = max(chunk)
                smn = steps[i + chunk.index(cmn)]
                smx = steps[i + chunk.index(cmx)]
            cur = buckets[b]
            if cur is None:
                buckets[b] = [cmn, smn, cmx, smx]
            else:
                if cmn < cur[0]:
                    cur[0] = cmn
                    cur[1] = smn
                if cmx > cur[2]:
                    cur[2] = cmx
                    cur[3] = smx
            if not (bmin <= cmn):  # also true while bmin is NaN
                bmin = cmn
            if not (bmax >= cmx):
                bmax = cmx
            i = j
        self.min = _to_float(bmin)
        self.max = _to_float(bmax)

    def _merge(self) -> None:
        old = self._buckets
        new: list[list[Any] | None] = []
        for k in range(0, len(old), 2):
            a = old[k]
            b = old[k + 1] if k + 1 < len(old) else None
            if a is None:
                new.append(b)
            elif b is None:
                new.append(a)
            else:
                if b[0] < a[0]:
                    a[0] = b[0]
                    a[1] = b[1]
                if b[2] > a[2]:
                    a[2] = b[2]
                    a[3] = b[3]
                new.append(a)
        self._buckets = new
        self._width *= 2

    def points(self) -> tuple[list[int], list[float]]:
        """``(steps, values)`` in step order: every bucket's min and max, then the last point."""
        steps: list[int] = []
        values: list[float] = []
        for bk in self._buckets:
            if bk is None:
                continue
            mnv, mns, mxv, mxs = bk
            if mns == mxs:
                steps.append(mns)
                values.append(_to_float(mnv))
            elif mns < mxs:
                steps += (mns, mxs)
                values += (_to_float(mnv), _to_float(mxv))
            else:
                steps += (mxs, mns)
                values += (_to_float(mxv), _to_float(mnv))
        if self.last_step is not None and (not steps or steps[-1] < self.last_step):
            steps.append(self.last_step)
            values.append(self.last)
        return steps, values

    @property
    def buckets_held(self) -> int:
        """How many buckets the sampler holds now: its memory, at most ``max_buckets``."""
        return len(self._buckets)

    def __len__(self) -> int:
        """Number of points a snapshot has now."""
        return len(self.points()[0])

    def snapshot(self, key: str = "") -> SampledSeries:
        steps, values = self.points()
        return SampledSeries(key, steps, values, self.min, self.max, self.last, self.count)


class HistorySampler:
    """One :class:`SeriesSampler` per numeric key."""

    def __init__(self, max_buckets: int = DEFAULT_MAX_BUCKETS) -> None:
        self.max_buckets = max_buckets
        self._series: dict[str, SeriesSampler] = {}
        self._mixed: set[str] = set()  # keys already reported by mixed()

    def add_columns(self, columns: Mapping[str, Column]) -> None:
        """Add per-key ``(steps, values)`` columns, e.g. from :func:`numeric_columns`."""
        series = self._series
        for key, (steps, values) in columns.items():
            s = series.get(key)
            if s is None:
                s = series[key] = SeriesSampler(self.max_buckets)
            s.add_batch(steps, values)

    def mixed(self, text: set[str], columns: Mapping[str, Column]) -> list[str]:
        """Keys of ``text`` (string values in this batch) that also hold numbers, in this
        batch's ``columns`` or before: each reported once (W&B takes both silently)."""
        found = sorted(k for k in text - self._mixed if k in columns or k in self._series)
        self._mixed.update(found)
        return found

    def snapshot(self, keys: Iterable[str] | None = None) -> list[SampledSeries]:
        """Snapshots of ``keys`` (unknown keys skipped), or of every key when None/empty."""
        wanted = list(keys) if keys else list(self._series)
        out = []
        for key in wanted:
            s = self._series.get(key)
            if s is not None:
                out.append(s.snapshot(key))
        return out

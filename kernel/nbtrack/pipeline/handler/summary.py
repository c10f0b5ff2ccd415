"""The run summary: last value per key, define_metric aggregates, user overrides.

- By default a key's summary value is the last value logged for it.
- ``define_metric(name, summary=[...], goal=...)`` (``name`` may end in ``*``
  to match a key prefix; an exact name wins over globs, a longer prefix over a
  shorter one; globs never match keys starting with ``_``) turns the key's
  summary value into a dict with only the requested aggregates out of
  ``min, max, mean, first, last, best``. ``best`` is the min (goal
  ``minimize``) or the max (goal ``maximize``) and is left out without a goal.
  ``none`` keeps the key out of the summary.
- ``min``/``max``/``mean``/``best`` consider numeric values only (not bools)
  and ignore NaN; ±inf count. ``first``/``last`` are the values as logged.
  A metric defined after values were logged starts its aggregates from the
  key's current last value.
- User writes (:meth:`Summary.update_user`) override the computed value of a
  key (or remove it) until that key is logged again.

Work is per batch of committed rows: last values with ``dict.update`` on the
batch's last row, aggregates only for keys with a definition, reduced with the
``min``/``max``/``sum`` builtins over the batch's column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nbtrack.pipeline.handler.sampling import drop_nan, is_numeric_type, numeric_columns

__all__ = ["AGGREGATES", "GOALS", "MetricDef", "Summary"]

AGGREGATES = ("min", "max", "mean", "first", "last", "best")
GOALS = ("minimize", "maximize")
_NAN = float("nan")


@dataclass(frozen=True)
class MetricDef:
    """One define_metric: which aggregates the summary shows for matching keys."""

    name: str
    aggregates: tuple[str, ...] = ()  # in AGGREGATES order
    goal: str = ""
    step_metric: str = ""
    hidden: bool = False
    none: bool = False  # "none": the key is left out of the summary

    @property
    def is_glob(self) -> bool:
        return self.name.endswith("*")

    @property
    def affects_summary(self) -> bool:
        return self.none or bool(self.aggregates)


class _Agg:
    __slots__ = ("first", "has_first", "max", "min", "n", "total")

    def __init__(self) -> None:
        self.n = 0
        self.total: Any = 0.0
        self.min: Any = _NAN
        self.max: Any = _NAN
        self.first: Any = None
        self.has_first = False

    def add_numeric(self, values: Sequence[Any]) -> None:
        _, kept, total = drop_nan(None, values)
        if not kept:
            return
        self.n += len(kept)
        self.total += total
        mn = min(kept)
        mx = max(kept)
        if not (self.min <= mn):  # also when self.min is NaN (nothing yet)
            self.min = mn
        if not (self.max >= mx):
            self.max = mx


class Summary:
    """Summary state kept by the handler; not thread-safe (one owner thread)."""

    def __init__(self) -> None:
        self._last: dict[str, Any] = {}
        self._overrides: dict[str, Any] = {}
        self._removed: set[str] = set()
        self._exact: dict[str, MetricDef] = {}
        self._globs: dict[str, MetricDef] = {}  # prefix -> def
        self._resolved: dict[str, MetricDef | None] = {}
        self._aggs: dict[str, _Agg] = {}
        self.changed = False

    # ------------------------------------------------------------ definitions

    def define_metric(
        self,
        name: str,
        summary: Iterable[str] = (),
        goal: str = "",
        step_metric: str = "",
        hidden: bool = False,
    ) -> list[str]:
        """Record a definition; returns human-readable problems (empty when fine)."""
        problems: list[str] = []
        if not name:
            problems.append("define_metric needs a metric name")
            return problems
        wanted = {s.strip().lower() for s in summary if s and s.strip()}
        none = "none" in wanted
        wanted.discard("none")
        unknown = sorted(wanted.difference(AGGREGATES))
        if unknown:
            problems.append(
                f"define_metric({name!r}): unknown summary {', '.join(unknown)} ignored "
                f"(use {', '.join(AGGREGATES)} or none)"
            )
        goal = (goal or "").strip().lower()
        if goal and goal not in GOALS:
            problems.append(
                f"define_metric({name!r}): goal {goal!r} ignored (minimize or maximize)"
            )
            goal = ""
        if "best" in wanted and not goal:
            problems.append(
                f"define_metric({name!r}): summary 'best' needs goal minimize or maximize"
            )
            wanted.discard("best")
        aggs = tuple(a for a in AGGREGATES if a in wanted)
        prev = self._globs.get(name[:-1]) if name.endswith("*") else self._exact.get(name)
        if prev is not None:
            # W&B's rule (wire/metrics.py): aggregates add up, a given step metric, goal
            # or "none" replaces; "none" leaves the key out whatever was added before
            if not none:
                aggs = tuple(a for a in AGGREGATES if a in wanted or a in prev.aggregates)
            none = none or (prev.none and not wanted)
            goal, step_metric = goal or prev.goal, step_metric or prev.step_metric
            hidden = hidden or prev.hidden
        d = MetricDef(name, () if none else aggs, goal, step_metric, hidden, none)
        if d.is_glob:
            self._globs[name[:-1]] = d
        else:
            self._exact[name] = d
        self._resolved.clear()
        # a newly aggregated key starts from the value it already has
        for key, value in self._last.items():
            rd = self._resolve(key)
            if rd is not None and rd.aggregates and key not in self._aggs:
                agg = self._aggs[key] = _Agg()
                agg.first = value
                agg.has_first = True
                if is_numeric_type(type(value)):
                    agg.add_numeric((value,))
        self.changed = True
        return problems

    def _resolve(self, key: str) -> MetricDef | None:
        try:
            return self._resolved[key]
        except KeyError:
            pass
        d = self._exact.get(key)
        if d is None or not d.affects_summary:
            d = None
            if not key.startswith("_"):
                best_len = -1
                for prefix, gd in self._globs.items():
                    if gd.affects_summary and len(prefix) > best_len and key.startswith(prefix):
                        d = gd
                        best_len = len(prefix)
        self._resolved[key] = d
        return d

    # ------------------------------------------------------------ updates

    def update_batch(
        self,
        rows: Sequence[Mapping[str, Any]],
        keys: Iterable[str] | None = None,
        numeric: Mapping[str, tuple[Sequence[int], Sequence[Any]]] | None = None,
    ) -> None:
        """Fold a batch of committed rows (in step order) into the summary.

        ``keys`` (every key of the batch) and ``numeric`` (per-key numeric
        columns) are what :func:`nbtrack.pipeline.handler.sampling.numeric_columns` returns; they
        are computed here when not given.
        """
        if not rows:
            return
        if keys is None or numeric is None:
            keys, numeric = numeric_columns([0] * len(rows), rows, skip_private=False)
        keyset = keys if isinstance(keys, (set, frozenset)) else set(keys)
        last = self._last
        last_row = rows[-1]
        last.update(last_row)
        if len(keyset) != len(last_row):
            for key in keyset.difference(last_row):
                for r in reversed(rows):
                    if key in r:
                        last[key] = r[key]
                        break
        if self._overrides or self._removed:
            for key in keyset:
                self._overrides.pop(key, None)
                self._removed.discard(key)
        if self._exact or self._globs:
            resolve = self._resolve
            aggs = self._aggs
            for key in keyset:
                d = resolve(key)
                if d is None or not d.aggregates:
                    continue
                agg = aggs.get(key)
                if agg is None:
                    agg = aggs[key] = _Agg()
                if not agg.has_first:
                    for r in rows:
                        if key in r:
                            agg.first = r[key]
                            agg.has_first = True
                            break
                col = numeric.get(key)
                if col is not None:
                    agg.add_numeric(col[1])
        self.changed = True

    def update_user(
        self, update: Mapping[str, Any] | None = None, remove: Iterable[str] = ()
    ) -> None:
        """A user's summary write: set ``update``'s keys, drop ``remove``'s keys."""
        if update:
            for key, value in update.items():
                self._overrides[key] = value
                self._removed.discard(key)
        for key in remove:
            self._overrides.pop(key, None)
            self._removed.add(key)
        self.changed = True

    # ------------------------------------------------------------ reading

    def _aggregate_value(self, key: str, d: MetricDef, last: Any) -> dict[str, Any]:
        agg = self._aggs.get(key)
        out: dict[str, Any] = {}
        for name in d.aggregates:
            if name == "last":
                out["last"] = last
            elif agg is None:
                continue
            elif name == "first":
                if agg.has_first:
                    out["first"] = agg.first
            elif agg.n == 0:
                continue
            elif name == "min":
                out["min"] = agg.min
            elif name == "max":
                out["max"] = agg.max
            elif name == "mean":
                out["mean"] = agg.total / agg.n
            elif name == "best":
                out["best"] = agg.min if d.goal == "minimize" else agg.max
        return out

    def full(self) -> dict[str, Any]:
        """The whole summary: computed values, then the user's removals and writes."""
        if self._exact or self._globs:
            out: dict[str, Any] = {}
            for key, value in self._last.items():
                d = self._resolve(key)
                if d is None:
                    out[key] = value
                elif d.aggregates:
                    out[key] = self._aggregate_value(key, d, value)
                # else: "none" -> left out
        else:
            out = dict(self._last)
        for key in self._removed:
            out.pop(key, None)
        out.update(self._overrides)
        return out

    def to_json(self) -> str:
        """``full()`` as JSON (NaN / Infinity allowed; unknown objects as strings)."""
        return json.dumps(self.full(), default=str)

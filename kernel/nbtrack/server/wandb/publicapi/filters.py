"""W&B's run filters (MongoDB-style) and run order, evaluated over a project's runs.

``wandb.Api().runs(filters=..., order=...)`` sends a JSON filter such as
``{"$and": [{"config.lr": {"$gt": 0.01}}, {"tags": {"$in": ["a"]}}]}`` and an order such
as ``"-summary_metrics.loss"``. Both are evaluated here over the stored run rows of one
project (the caller bounds how many: :data:`nbtrack.server.wandb.publicapi.runs.MAX_RUNS`),
so the cost of a page is O(runs in the project x filter size); the filter's size is bounded
by :data:`MAX_NODES`; ``$regex`` is RE2 (linear time), at most :data:`MAX_PATTERN` long.

Field paths: ``config.<k>[.value][.<sub>...]`` (W&B keeps config as
``{"k": {"value": v}}``; both ``config.lr`` and ``config.lr.value`` name the value),
``summary_metrics.<k>...``, and the run's own fields (``state``, ``tags``, ``name``,
``display_name`` / ``displayName``, ``createdAt`` / ``created_at``, ``group``, ...).
A condition on a list field (``tags``) matches when an element matches, as in MongoDB.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import re2

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_PATTERN", "FilterError", "compare", "compile_filter",
           "descending", "field_value", "order_key", "sort_runs"]

MAX_NODES = 1000  # operators and operands in one filter
MAX_DEPTH = 32  # nested $and / $or / $nor / $not
MAX_PATTERN = 512  # characters of one $regex

# $regex is RE2 (W&B's documented syntax): linear in the text, so no pattern can make a
# request backtrack for ever; errors are answered, not written to the server's stderr
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_RE2_OPTIONS.max_mem = 8 << 20

_MISSING = object()
_TIMES = {"createdAt": "created_at", "created_at": "created_at", "updatedAt": "updated_at",
          "updated_at": "updated_at", "heartbeatAt": "heartbeat_at",
          "heartbeat_at": "heartbeat_at"}
_COLUMNS = {
    "name": "name", "id": "name", "displayName": "display_name", "display_name": "display_name",
    "state": "state", "group": "group_name", "groupName": "group_name",
    "jobType": "job_type", "job_type": "job_type", "host": "host", "notes": "notes",
    "description": "description", "sweep": "sweep_name", "sweepName": "sweep_name",
    "entity": "entity", "project": "project", "username": "entity",
}


class FilterError(ValueError):
    """A filter or order the server cannot evaluate; the message names the part."""


Run = dict[str, Any]  # a stored run row, with "config" / "summary" / "tags" parsed
Predicate = Callable[[Run], bool]


def _walk(value: Any, parts: list[str], config: bool) -> Any:
    for part in parts:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif config and isinstance(value, dict) and isinstance(value.get("value"), dict) \
                and part in value["value"]:
            value = value["value"][part]  # config.model.layers: through {"value": ...}
        else:
            return _MISSING
    if config and isinstance(value, dict) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


def field_value(run: Run, path: str) -> Any:
    """The value a filter or order path names in ``run`` (``_MISSING`` when absent)."""
    head, _, rest = path.partition(".")
    if head == "config" and rest:
        return _walk(run["config"], rest.split("."), config=True)
    if head in ("summary_metrics", "summaryMetrics", "summary") and rest:
        return _walk(run["summary"], rest.split("."), config=False)
    if path == "tags":
        return run["tags"]
    if path in _TIMES:
        ts = run.get(_TIMES[path])
        return _MISSING if ts is None else _micros(datetime.fromtimestamp(float(ts), timezone.utc))
    if path in _COLUMNS:
        v = run.get(_COLUMNS[path])
        if path in ("displayName", "display_name") and not v:
            v = run.get("name")
        return _MISSING if v is None else v
    raise FilterError(f"cannot filter or order on {path!r}: not a run field, config.* or "
                      "summary_metrics.*")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _micros(dt: datetime) -> int:
    """Whole microseconds since the epoch: the precision of the ISO times answered."""
    return (dt - _EPOCH) // timedelta(microseconds=1)


def _time_operand(path: str, value: Any) -> Any:
    """Filter values on time fields may be ISO strings (W&B's form) or epoch numbers."""
    if path in _TIMES and isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise FilterError(f"{path}: {value!r} is not an ISO 8601 time") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return _micros(dt)
    if path in _TIMES and isinstance(value, int | float) and not isinstance(value, bool):
        return round(value * 1_000_000)  # epoch seconds
    if isinstance(value, list):
        return [_time_operand(path, v) for v in value]
    return value


def _rank(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, bool | int | float):
        return 1
    if isinstance(v, str):
        return 2
    return 3


def _cmp(a: Any, b: Any, op: str) -> bool:
    """MongoDB comparison: values of different kinds never compare (except int/float)."""
    if _rank(a) != _rank(b) or _rank(a) in (0, 3):
        return False
    if isinstance(a, float) and math.isnan(a):
        return False
    if op == "$gt":
        return bool(a > b)
    if op == "$gte":
        return bool(a >= b)
    if op == "$lt":
        return bool(a < b)
    return bool(a <= b)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _any(value: Any, test: Callable[[Any], bool]) -> bool:
    """A test on a field: on a list, true when the list or any element passes."""
    if test(value):
        return True
    return isinstance(value, list) and any(test(v) for v in value)


class _Compiler:
    def __init__(self) -> None:
        self.nodes = 0

    def _count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise FilterError(f"the filter has more than {MAX_NODES} parts")

    def doc(self, spec: Any, depth: int = 0) -> Predicate:
        if not isinstance(spec, dict):
            raise FilterError(f"a filter must be an object, not {type(spec).__name__}")
        if depth > MAX_DEPTH:
            raise FilterError(f"the filter nests deeper than {MAX_DEPTH} levels")
        preds = [self.entry(k, v, depth) for k, v in spec.items()]
        return lambda run: all(p(run) for p in preds)

    def entry(self, key: str, value: Any, depth: int) -> Predicate:
        self._count()
        if key in ("$and", "$or", "$nor"):
            if not isinstance(value, list) or not value:
                raise FilterError(f"{key} needs a non-empty list of filters")
            subs = [self.doc(v, depth + 1) for v in value]
            if key == "$and":
                return lambda run: all(p(run) for p in subs)
            if key == "$or":
                return lambda run: any(p(run) for p in subs)
            return lambda run: not any(p(run) for p in subs)
        if key.startswith("$"):
            raise FilterError(f"unsupported filter operator {key!r}")
        field_value({"config": {}, "summary": {}, "tags": []}, key)  # refuses unknown paths
        cond = self.condition(key, value, depth)
        return lambda run: cond(field_value(run, key))

    def condition(self, path: str, spec: Any, depth: int) -> Callable[[Any], bool]:
        if depth > MAX_DEPTH:
            raise FilterError(f"the filter nests deeper than {MAX_DEPTH} levels")
        if not (isinstance(spec, dict) and spec and all(k.startswith("$") for k in spec)):
            want = _time_operand(path, spec)
            return lambda v: v is not _MISSING and _any(v, lambda x: _eq(x, want))
        tests = [self.operator(path, op, arg, depth) for op, arg in spec.items()]
        return lambda v: all(t(v) for t in tests)

    def operator(self, path: str, op: str, arg: Any, depth: int) -> Callable[[Any], bool]:
        self._count()
        arg = _time_operand(path, arg)
        if op == "$eq":
            return lambda v: v is not _MISSING and _any(v, lambda x: _eq(x, arg))
        if op == "$ne":
            return lambda v: v is _MISSING or not _any(v, lambda x: _eq(x, arg))
        if op in ("$gt", "$gte", "$lt", "$lte"):
            return lambda v: v is not _MISSING and _any(v, lambda x: _cmp(x, arg, op))
        if op in ("$in", "$nin"):
            if not isinstance(arg, list):
                raise FilterError(f"{path}: {op} needs a list")
            self.nodes += len(arg)
            if self.nodes > MAX_NODES:
                raise FilterError(f"the filter has more than {MAX_NODES} parts")
            choices: list[Any] = arg

            def member(v: Any) -> bool:
                return any(_any(v, functools.partial(_eq, b=a)) for a in choices)

            if op == "$in":
                return lambda v: v is not _MISSING and member(v)
            return lambda v: v is _MISSING or not member(v)
        if op == "$exists":
            want = bool(arg)
            return lambda v: (v is not _MISSING and v is not None) == want
        if op == "$regex":
            if not isinstance(arg, str) or len(arg) > MAX_PATTERN:
                raise FilterError(f"{path}: $regex needs a string of at most {MAX_PATTERN} "
                                  "characters")
            try:
                rx = re2.compile(arg, options=_RE2_OPTIONS)
            except re2.error as e:
                reason = e.args[0].decode() if e.args and isinstance(e.args[0], bytes) else e
                raise FilterError(f"{path}: invalid $regex {arg!r}: {reason}") from None
            return lambda v: _any(v, lambda x: isinstance(x, str) and rx.search(x) is not None)
        if op == "$not":
            inner = self.condition(path, arg, depth + 1)
            return lambda v: not inner(v)
        if op == "$all":
            if not isinstance(arg, list):
                raise FilterError(f"{path}: $all needs a list")
            return lambda v: isinstance(v, list) and all(
                any(_eq(x, a) for x in v) for a in arg)
        raise FilterError(f"{path}: unsupported filter operator {op!r}")


def compile_filter(spec: Any) -> Predicate:
    """A predicate over run rows from W&B's filter object (or its JSON text)."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec) if spec.strip() else {}
        except (ValueError, RecursionError):
            raise FilterError("filters is not valid JSON (or nests too deeply)") from None
    if spec is None:
        spec = {}
    return _Compiler().doc(spec)


def _order(order: Any) -> tuple[str, bool]:
    text = order if isinstance(order, str) and order else "+created_at"
    desc = text.startswith("-")
    path = text.lstrip("+-")
    field_value({"config": {}, "summary": {}, "tags": []}, path)  # refuses unknown paths
    return path, desc


def order_key(run: Run, order: Any) -> list[Any]:
    """The JSON-able sort key of a run (also what a cursor holds): [missing, rank, v, rid]."""
    path, _ = _order(order)
    v = field_value(run, path)
    if v is _MISSING or v is None or (isinstance(v, float) and math.isnan(v)):
        return [1, 0, 0, int(run["rid"])]
    rank = _rank(v)
    if rank == 3:
        v = json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, bool):
        v = int(v)
    return [0, rank, v, int(run["rid"])]


def compare(a: list[Any], b: list[Any], desc: bool) -> int:
    """Order two sort keys: runs without the value last in both directions."""
    if a[0] != b[0]:
        return -1 if a[0] < b[0] else 1
    ka, kb = (a[1], a[2], a[3]), (b[1], b[2], b[3])
    if ka == kb:
        return 0
    less = ka < kb
    return (1 if less else -1) if desc else (-1 if less else 1)


def sort_runs(runs: list[Run], order: Any) -> list[tuple[list[Any], Run]]:
    """(key, run) in the requested order; ties broken by the run's internal id."""
    _, desc = _order(order)
    keyed = [(order_key(r, order), r) for r in runs]
    def cmp(x: tuple[list[Any], Run], y: tuple[list[Any], Run]) -> int:
        return compare(x[0], y[0], desc)

    keyed.sort(key=functools.cmp_to_key(cmp))
    return keyed


def descending(order: Any) -> bool:
    return _order(order)[1]

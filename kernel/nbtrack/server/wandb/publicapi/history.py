"""A run's history as W&B's GraphQL ``Run`` type serves it to ``wandb.Api()``.

- ``history(samples, minStep, maxStep)``: whole rows as JSON strings, ``maxStep``
  exclusive (wandb-core's scan pages ask ``samples = maxStep - minStep``, so a page comes
  back whole); more rows than ``samples`` are spread evenly over the step range, one index
  lookup per sample, so a sampled read of a long run costs O(samples), not O(rows); when
  the steps are so uneven that the lookups find fewer than half the samples (a cluster and
  one far step), the range's rows are read and spread by position.
- ``sampledHistory(specs)``: per spec the rows holding every key of ``keys``, only those
  keys, at most ``samples`` of them evenly spread, ``maxStep`` inclusive. This one reads
  the rows of the range (O(rows in range), in pages of :data:`PAGE`).
- ``historyKeys``: ``{"lastStep", "keys": {k: {"typeCounts": [...]}}}``; counted
  incrementally per run (the first call reads every row, later ones only the new rows).
- ``events(samples)``: system-metrics rows; ``systemMetrics``: the latest of them.
- ``parquetHistory``: nbtrack exports no parquet files, so ``parquetUrls`` is empty and
  ``liveData`` holds the first row's ``liveKeys`` (the official client reads only the first
  live step from it, then pages through ``history``).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nbtrack.server.context import ServerContext, loads
from nbtrack.server.wandb.graphql import GraphQLError
from nbtrack.server.wandb.projection import with_args
from nbtrack.wire.files import EVENTS

__all__ = ["MAX_SAMPLES", "PAGE", "events", "history", "history_keys", "parquet_history",
           "sampled_history", "system_metrics"]

MAX_SAMPLES = 100_000  # rows one history / sampledHistory / events answer may hold
MAX_SPECS = 32
MAX_KEYS = 1000
PAGE = 10_000

Run = dict[str, Any]


def _int(args: dict[str, Any], name: str, default: int | None) -> int | None:
    v = args.get(name, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or v != int(v):
        raise GraphQLError(f"{name} must be an integer, not {v!r}")
    return int(v)


def _samples(args: dict[str, Any], default: int = 500) -> int:
    n = _int(args, "samples", default)
    if n is None or n < 1:
        return default
    if n > MAX_SAMPLES:
        raise GraphQLError(f"samples: at most {MAX_SAMPLES} per request, not {n}")
    return n


def _spread(n: int, k: int) -> list[int]:
    """``k`` indices spread evenly over ``range(n)``, first and last included."""
    if n <= k:
        return list(range(n))
    if k == 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def _rows(ctx: ServerContext, rid: int, lo: int | None, hi: int | None) -> Any:
    """(step, line, text) of the steps lo..hi (inclusive), one page at a time."""
    after = None
    while True:
        page = ctx.storage.history_page(rid, lo, hi, after, PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = (page[-1][0], page[-1][1])


def history(ctx: ServerContext, run: Run, args: dict[str, Any]) -> list[str]:
    samples = _samples(args)
    lo, hi = _int(args, "minStep", None), _int(args, "maxStep", None)
    hi_incl = None if hi is None else hi - 1
    rid = int(run["rid"])
    first = ctx.storage.history_page(rid, lo, hi_incl, None, samples + 1)
    if len(first) <= samples:
        return [r[2] for r in first]
    end = hi_incl if hi_incl is not None else run["last_step"]
    if first[0][0] is None or end is None:  # rows without a _step only: the first ones
        return [r[2] for r in first[:samples]]
    start = int(first[0][0])
    out: dict[int, str] = {}
    span = int(end) - start
    for i in range(samples):
        target = start + round(i * span / max(samples - 1, 1))
        row = ctx.storage.history_page(rid, target, hi_incl, None, 1)
        if row:
            out.setdefault(int(row[0][1]), row[0][2])
    if len(out) < samples // 2:  # steps too uneven for lookups: spread by position instead
        texts = [r[2] for r in _rows(ctx, rid, lo, hi_incl)]
        return [texts[i] for i in _spread(len(texts), samples)]
    return list(out.values())


def _spec(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise GraphQLError("sampledHistory: a spec is not valid JSON") from None
    if not isinstance(raw, dict):
        raise GraphQLError("sampledHistory: a spec must be an object")
    keys = raw.get("keys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys) \
            or len(keys) > MAX_KEYS:
        raise GraphQLError(f"sampledHistory: keys must be 1 to {MAX_KEYS} strings")
    return raw


def sampled_history(ctx: ServerContext, run: Run, args: dict[str, Any]) -> list[Any]:
    specs = args.get("specs")
    if not isinstance(specs, list) or not specs or len(specs) > MAX_SPECS:
        raise GraphQLError(f"sampledHistory: specs must be a list of 1 to {MAX_SPECS} specs")
    out = []
    for raw in specs:
        spec = _spec(raw)
        keys: list[str] = spec["keys"]
        samples = _samples(spec)
        lo, hi = _int(spec, "minStep", None), _int(spec, "maxStep", None)
        found = []
        # a cheap test before parsing: a row holding every key has each one's quoted name
        # (only for names JSON writes the same way whatever the writer: plain ASCII)
        quoted = [q for q in map(json.dumps, keys) if q.isascii() and "\\" not in q]
        for _, _, text in _rows(ctx, int(run["rid"]), lo, hi):
            if not all(q in text for q in quoted):
                continue
            try:
                row = json.loads(text)
            except ValueError:
                continue
            if isinstance(row, dict) and all(k in row for k in keys):
                found.append({k: row[k] for k in keys})
        out.append([found[i] for i in _spread(len(found), samples)])
    return out


def _type(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return str(v.get("_type") or "map")
    return "list"


class _KeyCounts:
    """A run's key counts so far and where the count stopped (the last (step, line) read)."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.after: tuple[int | None, int] | None = None
        self.stepless: set[int] = set()
        self.lock = threading.Lock()

    def add(self, text: str) -> None:
        try:
            row = json.loads(text)
        except ValueError:
            return
        if isinstance(row, dict):
            for k, v in row.items():
                by_type = self.counts.setdefault(k, {})
                t = _type(v)
                by_type[t] = by_type.get(t, 0) + 1


_KEYS: OrderedDict[tuple[int, int], _KeyCounts] = OrderedDict()
_KEYS_LOCK = threading.Lock()
_KEYS_RUNS = 256


def history_keys(ctx: ServerContext, run: Run) -> dict[str, Any]:
    """``{"lastStep": n, "keys": {key: {"typeCounts": [{"type", "count"}]}}}``.

    Counted incrementally: a run's first call reads every row, a later one only the rows
    stored since (rows come in step order; a late row at a step below the last one counted
    is not counted until the server restarts).
    """
    key = (id(ctx), int(run["rid"]))
    with _KEYS_LOCK:
        kc = _KEYS.get(key)
        if kc is None:
            kc = _KEYS[key] = _KeyCounts()
        _KEYS.move_to_end(key)
        while len(_KEYS) > _KEYS_RUNS:
            _KEYS.popitem(last=False)
    with kc.lock:
        while True:
            page = ctx.storage.history_page(int(run["rid"]), None, None, kc.after, PAGE)
            added = 0
            for step, line, text in page:
                if step is not None:
                    kc.add(text)
                    kc.after = (step, line)
                elif line not in kc.stepless:  # rows without a _step come after the rest
                    kc.stepless.add(line)      # on every page sequence: count them once
                    kc.add(text)
                else:
                    continue
                added += 1
            if len(page) < PAGE or not added:
                break
        keys = {k: {"typeCounts": [{"type": t, "count": n} for t, n in sorted(c.items())]}
                for k, c in sorted(kc.counts.items())}
    last = run["last_step"]
    return {"lastStep": -1 if last is None else int(last), "keys": keys}


def events(ctx: ServerContext, run: Run, args: dict[str, Any]) -> list[str]:
    lines = ctx.storage.lines(int(run["rid"]), EVENTS)
    return [lines[i] for i in _spread(len(lines), _samples(args))]


def system_metrics(ctx: ServerContext, run: Run) -> str:
    """The latest system-metrics row (W&B's ``systemMetrics``), ``{}`` before the first."""
    tail = ctx.storage.tail(int(run["rid"]), EVENTS, 1)
    return tail[0] if tail else "{}"


def parquet_history(ctx: ServerContext, run: Run, args: dict[str, Any]) -> dict[str, Any]:
    keys = args.get("liveKeys") or ["_step"]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise GraphQLError("parquetHistory: liveKeys must be a list of strings")
    first = ctx.storage.history_page(int(run["rid"]), None, None, None, 1)
    live: list[dict[str, Any]] = []
    if first:
        row = loads(first[0][2], None)
        live = [{k: row[k] for k in keys if k in row}] if isinstance(row, dict) else []
    return {"parquetUrls": [], "liveData": live, "__typename": "RunParquetHistory"}


def lazy(ctx: ServerContext, run: Run) -> dict[str, Callable[..., Any]]:
    """The history fields of a ``Run`` as lazy resolvers (computed only when selected)."""
    return {
        "history": with_args(lambda a: history(ctx, run, a)),
        "sampledHistory": with_args(lambda a: sampled_history(ctx, run, a)),
        "events": with_args(lambda a: events(ctx, run, a)),
        "parquetHistory": with_args(lambda a: parquet_history(ctx, run, a)),
        "historyKeys": lambda: history_keys(ctx, run),
        "systemMetrics": lambda: system_metrics(ctx, run),
    }

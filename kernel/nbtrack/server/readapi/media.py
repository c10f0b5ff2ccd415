"""A run's media as the read API answers it: which keys hold media, their steps, a value.

W&B logs media as history values with a ``_type`` (``image-file``, ``images/separated``,
``histogram``, ``table-file``, ...; :data:`nbtrack.wire.mediatypes.KINDS`). Finding them
means reading the run's rows, so the server keeps one small index per run (the steps of
each media key, an ``array`` of 8 bytes a step), built by one pass over the stored rows in
pages and then extended by the rows stored since (the steps after the last one; a full
pass again when a row below it arrived), cached for the last :data:`CACHE_RUNS` runs.
A row is parsed only when its text holds ``"_type"``, so scalar rows cost a substring test.

Answers are bounded: at most :data:`MAX_KEYS` keys, pages of at most :data:`MAX_PAGE`
steps, at most :data:`MAX_SAMPLES` values per request (each one indexed read of one step).
"""

from __future__ import annotations

import bisect
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from nbtrack.server.context import ServerContext, loads
from nbtrack.wire.mediatypes import kind_of

__all__ = ["handle", "index_of"]

Answer = tuple[int, Any]

MAX_KEYS = 500
MAX_PAGE = 10_000
DEFAULT_PAGE = 1_000
MAX_SAMPLES = 200
SCAN_PAGE = 5_000
CACHE_RUNS = 32


@dataclass
class _Key:
    kind: str
    type: str
    steps: array[int] = field(default_factory=lambda: array("q"))


@dataclass
class _Index:
    """The media keys of one run and the steps that hold a value of each."""

    lines: int = -1  # the run's history_line_count when last extended
    rows: int = 0  # rows read so far
    last_step: int | None = None
    keys: dict[str, _Key] = field(default_factory=dict)
    truncated: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, step: int, row: dict[str, Any]) -> None:
        for k, v in row.items():
            kind = kind_of(v)
            if kind is None:
                continue
            entry = self.keys.get(k)
            if entry is None:
                if len(self.keys) >= MAX_KEYS:
                    self.truncated = True
                    continue
                entry = self.keys[k] = _Key(kind, str(v["_type"]))
            if not entry.steps or entry.steps[-1] < step:
                entry.steps.append(step)
            elif step not in entry.steps:  # a row stored out of step order
                bisect.insort(entry.steps, step)


_CACHE: OrderedDict[tuple[int, int], _Index] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _scan(ctx: ServerContext, rid: int, idx: _Index, min_step: int | None) -> None:
    after: tuple[int | None, int] | None = None
    while True:
        page = ctx.storage.history_page(rid, min_step, None, after, SCAN_PAGE)
        idx.rows += len(page)
        for step, _line, text in page:
            if step is None:
                continue
            idx.last_step = step if idx.last_step is None else max(idx.last_step, step)
            if '"_type"' not in text:
                continue
            row = loads(text, None)
            if isinstance(row, dict):
                idx.add(int(step), row)
        if len(page) < SCAN_PAGE:
            return
        step, line, _ = page[-1]
        after = (step, line)


def index_of(ctx: ServerContext, run: dict[str, Any]) -> _Index:
    """The run's media index, extended by the rows stored since it was last asked."""
    rid = int(run["rid"])
    with _CACHE_LOCK:
        idx = _CACHE.get((id(ctx), rid))
        if idx is None:
            idx = _CACHE[(id(ctx), rid)] = _Index()
        _CACHE.move_to_end((id(ctx), rid))
        while len(_CACHE) > CACHE_RUNS:
            _CACHE.popitem(last=False)
    lines = int(run["history_line_count"] or 0)
    with idx.lock:
        if idx.lines != lines:
            if idx.lines >= 0 and idx.last_step is not None:
                # rows mostly arrive in step order: first only the steps after the last one
                _scan(ctx, rid, idx, idx.last_step + 1)
            if idx.rows != lines:  # a row below the last step came in (or a first read)
                idx.keys.clear()
                idx.last_step, idx.rows = None, 0
                _scan(ctx, rid, idx, None)
            idx.lines = lines
    return idx


def _value_at(ctx: ServerContext, rid: int, key: str, step: int) -> Any:
    """The key's value in the rows of ``step`` (the last one, as W&B merges a step)."""
    found = None
    for text in ctx.storage.history(rid, step, step):
        row = loads(text, None)
        if isinstance(row, dict) and kind_of(row.get(key)) is not None:
            found = row[key]
    return found


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def handle(ctx: ServerContext, run: dict[str, Any], params: dict[str, list[str]]) -> Answer:
    """GET ``runs/<e>/<p>/<id>/media``: the media keys; with ``key``: that key's steps
    (``limit``, ``cursor``), its value at ``step`` (the newest at or before it; ``last``:
    the newest), or ``samples`` values spread over its steps."""
    idx = index_of(ctx, run)
    key = params.get("key", [None])[0]
    if key is None:
        keys = [{"key": k, "kind": e.kind, "type": e.type, "count": len(e.steps),
                 "first_step": e.steps[0], "last_step": e.steps[-1]}
                for k, e in sorted(idx.keys.items())]
        return 200, {"keys": keys, "truncated": idx.truncated}
    entry = idx.keys.get(key)
    if entry is None:
        return 404, {"error": f"no media logged under key {key!r}"}
    steps = entry.steps
    base = {"key": key, "kind": entry.kind, "count": len(steps)}
    try:
        if "step" in params:
            raw = params["step"][0]
            at = steps[-1] if raw == "last" else _int(raw, "step")
            i = bisect.bisect_right(steps, at) - 1
            if i < 0:
                return 404, {"error": f"no value of {key!r} at or before step {at}"}
            step = steps[i]
            return 200, {**base, "step": step, "index": i,
                         "value": _value_at(ctx, int(run["rid"]), key, step)}
        if "samples" in params:
            n = _int(params["samples"][0], "samples")
            if not 1 <= n <= MAX_SAMPLES:
                return 400, {"error": f"samples must be between 1 and {MAX_SAMPLES}"}
            m = min(n, len(steps))  # evenly spread, the first and the newest always
            picks = sorted({steps[round(j * (len(steps) - 1) / max(1, m - 1))]
                            for j in range(m)})
            rid = int(run["rid"])
            return 200, {**base, "values": [{"step": s, "value": _value_at(ctx, rid, key, s)}
                                            for s in picks]}
        limit = _int(params.get("limit", [str(DEFAULT_PAGE)])[0], "limit")
        start = _int(params.get("cursor", ["0"])[0] or "0", "cursor")
    except ValueError as e:
        return 400, {"error": str(e)}
    if not 1 <= limit <= MAX_PAGE:
        return 400, {"error": f"limit must be between 1 and {MAX_PAGE}"}
    if start < 0:
        return 400, {"error": "cursor must be what next_cursor said"}
    page = steps[start:start + limit].tolist()
    nxt = str(start + limit) if start + limit < len(steps) else None
    return 200, {**base, "steps": page, "next_cursor": nxt}

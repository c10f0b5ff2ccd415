"""The history levels of recent runs, kept in the server's memory and brought up to date.

One :class:`~.levels.RunIndex` per run (the last ``MAX_RUNS`` used), updated from the rows
stored since it was last used before every query, and, for long runs, in a background
thread soon after history lines arrive (:func:`warm_later`), so the first page view does not
pay for indexing the whole run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Any

from nbtrack.server.readapi.levels import RunIndex
from nbtrack.server.storage.base import Storage

log = logging.getLogger("nbtrack.server")

_BUILD_WINDOW = 10_000  # steps read per storage query while indexing (bounds the parse peak)
MAX_RUNS = 8
_INDEXES: OrderedDict[tuple[int, int], RunIndex] = OrderedDict()
_LOCK = threading.Lock()


def query(
    ctx_id: int, storage: Storage, run: dict[str, Any], keys: list[str] | None, samples: int,
    lo: int | None, hi: int | None,
) -> list[dict[str, Any]] | None:
    """Downsampled rows from the run's levels (None: too fine, read the rows instead)."""
    idx = _index_for(ctx_id, storage, run)
    with idx.lock:
        return idx.query(storage, int(run["rid"]), keys, samples, lo, hi)


def _index_for(ctx_id: int, storage: Storage, run: dict[str, Any]) -> RunIndex:
    """The run's index, brought up to date with the rows stored since it was last used."""
    key = (ctx_id, int(run["rid"]))
    with _LOCK:
        idx = _INDEXES.get(key)
        if idx is None:
            idx = _INDEXES[key] = RunIndex()
        _INDEXES.move_to_end(key)
        while len(_INDEXES) > MAX_RUNS:
            _INDEXES.popitem(last=False)
    with idx.lock:
        count = int(run["history_line_count"] or 0)
        if count < idx.lines_seen:  # the run was replaced: start again
            idx.__init__()  # type: ignore[misc]
        if count != idx.lines_seen:
            top = run.get("last_step")
            start = 0 if idx.last_step is None else idx.last_step + 1
            while True:
                end = None if top is None else start + _BUILD_WINDOW - 1
                if end is not None and top is not None and end >= top:
                    end = None
                idx.add_rows(_parse(storage.history(int(run["rid"]), start, end)))
                if end is None:
                    break
                start = end + 1
            idx.rebuild()
            idx.lines_seen = count
    return idx


def _parse(lines: list[str]) -> list[dict[str, Any]]:
    """Rows of stored lines: one C-level parse of the batch, line by line if one is broken."""
    try:
        rows = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        rows = []
        for line in lines:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return [r for r in rows if isinstance(r, dict)]


# ---------------------------------------------------------------- warming up at ingest


def feed(ctx: Any, run: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    """Index rows just stored, parsed by the ingest already (the common case: the next
    lines of a run whose index is up to date). False: not indexed here, warm it later.

    Why: re-reading and re-parsing every stored row in the warm thread took as much of
    the server as storing it (a long run's finish waited on it).
    """
    with _LOCK:
        idx = _INDEXES.get((id(ctx), int(run["rid"])))
    if idx is None:
        return False
    count = int(run["history_line_count"] or 0)
    with idx.lock:
        if idx.lines_seen != count - len(rows):
            return False
        prev = -1 if idx.last_step is None else idx.last_step
        for row in rows:
            step = row.get("_step")
            if type(step) is not int or step <= prev:
                return False  # not in step order: the storage's order decides, read it
            prev = step
        idx.add_rows(rows)
        idx.rebuild()
        idx.lines_seen = count
    return True

def forget(ctx: Any, rid: int) -> None:
    """Drop a run's levels: rows at steps it already indexed changed (merged at ingest),
    so the next query indexes the run again from its stored rows."""
    with _LOCK:
        _INDEXES.pop((id(ctx), rid), None)


WARM_MIN_LINES = 20_000  # shorter runs are answered from their rows quickly enough
WARM_DELAY = 1.0  # seconds of quiet batching before a background update
_pending: dict[tuple[int, int], tuple[Any, str, str, str]] = {}
_wake = threading.Event()
_worker: threading.Thread | None = None


def warm_later(ctx: Any, run: dict[str, Any]) -> None:
    """After history lines were stored: bring a long run's levels up to date in the
    background, so the first page view does not pay for indexing the whole run."""
    global _worker
    if int(run.get("history_line_count") or 0) < WARM_MIN_LINES:
        return
    with _LOCK:
        _pending[(id(ctx), int(run["rid"]))] = (ctx, run["entity"], run["project"], run["name"])
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_warm_loop, name="nbtrack-histindex", daemon=True)
            _worker.start()
    _wake.set()


def _warm_loop() -> None:
    while True:
        _wake.wait()
        time.sleep(WARM_DELAY)
        _wake.clear()
        with _LOCK:
            jobs = list(_pending.values())
            _pending.clear()
        for ctx, entity, project, name in jobs:
            try:
                run = ctx.storage.get_run(entity, project, name)
                if run is not None:
                    _index_for(id(ctx), ctx.storage, run)
            except Exception:  # a background helper: never take the server down
                log.exception("indexing the history of %s/%s/%s failed", entity, project, name)

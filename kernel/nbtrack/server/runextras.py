"""Alerts and stop requests of a run, kept in the storage's generic per-run line files.

Using ``append_lines`` / ``lines`` (part of every storage backend) keeps the schema
unchanged: alerts are JSON lines of ``nbtrack-alerts.jsonl``; a stop request is
line 0 of ``nbtrack-stop`` (stored once, like any line by offset).

An alert carries no id or time from the client, so a replay (``wandb sync`` of a run the
server holds, a sync after a crash) would store it again. The rule: an alert equal to one
the run holds (title, text, level) is a replay when no new history row reached the run
since its last ``upsertBucket`` (a replaying client re-registers the run first, then
re-sends rows the server already has). A live run that repeats an alert after logging
rows keeps every copy. The "new row since" flag lives in the server's memory: after a
restart, the first alert of each run is stored.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from typing import Any

from nbtrack.server.context import ServerContext, iso, loads

ALERTS_FILE = "nbtrack-alerts.jsonl"
STOP_FILE = "nbtrack-stop"
LEVELS = ("INFO", "WARN", "ERROR")


_MAX_RUNS = 4096  # runs whose "new row since the last upsert" flag is remembered
_fresh: OrderedDict[tuple[int, int], bool] = OrderedDict()
_fresh_lock = threading.Lock()


def _set_fresh(ctx: ServerContext, rid: int, value: bool) -> None:
    with _fresh_lock:
        _fresh[(id(ctx), rid)] = value
        _fresh.move_to_end((id(ctx), rid))
        while len(_fresh) > _MAX_RUNS:
            _fresh.popitem(last=False)


def run_upserted(ctx: ServerContext, rid: int) -> None:
    """An ``upsertBucket`` of the run: a replay, if one follows, starts here."""
    _set_fresh(ctx, rid, False)


def new_rows(ctx: ServerContext, rid: int) -> None:
    """History rows the run did not hold were stored."""
    with _fresh_lock:
        if _fresh.get((id(ctx), rid)) is False:
            _fresh[(id(ctx), rid)] = True


def add_alert(ctx: ServerContext, rid: int, title: str, text: str, level: str) -> bool:
    """Keep the alert with the run; False when it is a replay of one the run holds."""
    lvl = (level or "INFO").upper()
    if lvl == "WARNING":
        lvl = "WARN"
    if lvl not in LEVELS:
        lvl = "INFO"
    item = {"title": str(title)[:256], "text": str(text)[:8192], "level": lvl}
    with _fresh_lock:
        replaying = _fresh.get((id(ctx), rid)) is False
    if replaying and any(
            {k: a.get(k) for k in item} == item for a in
            (loads(raw, None) or {} for raw in ctx.storage.lines(rid, ALERTS_FILE))):
        return False
    line = json.dumps({**item, "time": time.time()})
    # the offset is the count so far; two alerts racing for one offset: retry the next
    for _ in range(5):
        n = len(ctx.storage.lines(rid, ALERTS_FILE))
        ctx.storage.append_lines(rid, ALERTS_FILE, n, [line])
        if line in ctx.storage.lines(rid, ALERTS_FILE)[n:]:
            return True
    return True


def alerts(ctx: ServerContext, rid: int) -> list[dict[str, Any]]:
    out = []
    for raw in ctx.storage.lines(rid, ALERTS_FILE):
        item = loads(raw, None)
        if isinstance(item, dict):
            item["time"] = iso(item.get("time") or 0.0)
            out.append(item)
    return out


def request_stop(ctx: ServerContext, rid: int) -> None:
    ctx.storage.append_lines(rid, STOP_FILE, 0, [json.dumps({"time": time.time()})])


def stop_requested(ctx: ServerContext, rid: int) -> bool:
    return bool(ctx.storage.lines(rid, STOP_FILE))

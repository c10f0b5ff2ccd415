"""Alerts and stop requests of a run, kept in the storage's generic per-run line files.

Using ``append_lines`` / ``lines`` (part of every storage backend) keeps the schema
unchanged: alerts are JSON lines of ``nbtrack-alerts.jsonl``; a stop request is
line 0 of ``nbtrack-stop`` (stored once, like any line by offset).
"""

from __future__ import annotations

import json
import time
from typing import Any

from nbtrack.server.context import ServerContext, iso, loads

ALERTS_FILE = "nbtrack-alerts.jsonl"
STOP_FILE = "nbtrack-stop"
LEVELS = ("INFO", "WARN", "ERROR")


def add_alert(ctx: ServerContext, rid: int, title: str, text: str, level: str) -> None:
    lvl = (level or "INFO").upper()
    if lvl == "WARNING":
        lvl = "WARN"
    if lvl not in LEVELS:
        lvl = "INFO"
    line = json.dumps({"title": str(title)[:256], "text": str(text)[:8192], "level": lvl,
                       "time": time.time()})
    # the offset is the count so far; two alerts racing for one offset: retry the next
    for _ in range(5):
        n = len(ctx.storage.lines(rid, ALERTS_FILE))
        ctx.storage.append_lines(rid, ALERTS_FILE, n, [line])
        if line in ctx.storage.lines(rid, ALERTS_FILE)[n:]:
            return


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

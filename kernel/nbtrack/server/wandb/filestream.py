"""``POST /files/<entity>/<project>/<run>/file_stream``: lines by per-file offset.

Line ``offset + i`` of a file is stored at most once, so a chunk re-sent after a lost
answer (or an overlapping chunk) never duplicates rows; a history row is also matched by
its ``_step``, so a row re-sent at another offset (``wandb sync`` again) is stored once
(``storage/stepdedup.py``). The answer carries ``stopped: true`` once a stop was
requested (W&B's stop signal, read by the official client). Every post is a heartbeat. A
post's summary and ``complete`` are ordered by its ``X-Nbtrack-Seq``: a late copy of an
older post never replaces a newer summary or reopens the run.
"""

from __future__ import annotations

import json
from typing import Any

from nbtrack.server import runextras
from nbtrack.server.context import ServerContext, log
from nbtrack.server.readapi import levelcache
from nbtrack.server.storage.stepdedup import Appended
from nbtrack.wire.files import HISTORY, SUMMARY
from nbtrack.wire.jsonshape import MAX_DEPTH, ShapeError, check

OK_ANSWER: dict[str, Any] = {"exitcode": None, "limits": {}}


class BadRequest(Exception):
    """The body is not a valid file_stream post (answered with 400)."""


# A file never holds more lines than this; larger offsets are refused (SQLite's integers
# end at 2**63, and no run logs a trillion lines).
MAX_LINES = 2**40


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _json_objects(name: str, offset: int, lines: list[str]) -> list[dict[str, Any]]:
    """Every line parsed, each a JSON object, or BadRequest naming the first that is not.

    One C-level parse of the whole chunk (per-line ``json.loads`` was a fifth of a long
    run's ingest); line by line only to find the bad one.
    """
    joined = "[" + ",".join(lines) + "]"
    try:  # JSON inside strings: the body's own bounds did not see it
        check(joined, MAX_DEPTH + 1)
    except ShapeError as e:
        raise BadRequest(f"files[{name!r}]: the lines' JSON {e}") from None
    try:
        rows = json.loads(joined)
    except (ValueError, RecursionError):
        rows = None
    if (isinstance(rows, list) and len(rows) == len(lines)
            and all(type(r) is dict for r in rows)):
        return rows
    for i, line in enumerate(lines):
        if not _is_json_object(line):
            raise BadRequest(f"files[{name!r}] line {offset + i} is not a JSON object")
    raise BadRequest(f"files[{name!r}]: lines are not one JSON object each")


def _validate(body: Any, parsed: dict[str, list[dict[str, Any]]]
              ) -> dict[str, tuple[int, list[str]]]:
    """The post's files by name; the history's rows, parsed once, into ``parsed``."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    files = body.get("files", {})
    if files is None:
        files = {}
    if not isinstance(files, dict):
        raise BadRequest("files must be an object")
    out: dict[str, tuple[int, list[str]]] = {}
    for name, chunk in files.items():
        if not isinstance(chunk, dict):
            raise BadRequest(f"files[{name!r}] must be an object")
        offset = chunk.get("offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise BadRequest(f"files[{name!r}].offset must be a non-negative integer")
        content = chunk.get("content", [])
        if not isinstance(content, list) or not all(isinstance(s, str) for s in content):
            raise BadRequest(f"files[{name!r}].content must be a list of strings")
        if offset + len(content) > MAX_LINES:
            raise BadRequest(f"files[{name!r}].offset {offset} is beyond {MAX_LINES} lines")
        if (name.endswith(".jsonl") or name == SUMMARY) and content:
            # the read API splices these lines into its JSON answers: one bad line
            # would make the whole history (or the run) unreadable
            rows = _json_objects(name, offset, content)
            if name == HISTORY:
                parsed[name] = rows
        out[name] = (offset, content)
    exitcode = body.get("exitcode")
    if exitcode is not None and (isinstance(exitcode, bool) or not isinstance(exitcode, int)):
        raise BadRequest("exitcode must be an integer or null")
    if not isinstance(body.get("complete", False), bool):
        raise BadRequest("complete must be a boolean")
    return out


def handle(ctx: ServerContext, entity: str, project: str, name: str, body: Any,
           seq: int | None = None) -> tuple[int, Any]:
    """(HTTP status, JSON answer) for one post; ``seq`` orders its summary and its end
    against the run's other updates (``wire/ordering.py``)."""
    run = ctx.storage.get_run(ctx.entity_or_default(entity), project, name)
    if run is None:
        return 404, {"error": f"run {entity}/{project}/{name} not found"}
    parsed: dict[str, list[dict[str, Any]]] = {}
    try:
        files = _validate(body, parsed)
    except BadRequest as e:
        return 400, {"error": str(e)}
    rid = int(run["rid"])
    for fname, (offset, content) in files.items():
        if fname == SUMMARY:
            if content:
                ctx.storage.set_summary(rid, content[-1], seq)
        else:
            before = int(run["history_line_count"] or 0)
            done = ctx.storage.append_lines(rid, fname, offset, content)
            if fname == HISTORY and content:
                _after_history(ctx, run, before, offset, parsed[fname], done)
    if body.get("complete"):
        exitcode = body.get("exitcode")
        ctx.storage.finish_run(rid, exitcode, seq)
        log.info("run %s/%s/%s complete (exit code %s)", entity, project, name, exitcode)
    elif not any(content for _, content in files.values()):
        ctx.storage.heartbeat(rid)
    if runextras.stop_requested(ctx, rid):
        # W&B's answer to a stop request: wandb-core reads ``stopped`` from every
        # file_stream answer, and its run-stop checker ends the script
        return 200, {**OK_ANSWER, "stopped": True}
    return 200, OK_ANSWER


def _after_history(ctx: ServerContext, run: dict[str, Any], before: int, offset: int,
                   rows: list[dict[str, Any]], done: Appended) -> None:
    """Keep a long run's levels current; say when rows were merged into stored steps."""
    after = {**run, "history_line_count": max(before, offset + len(rows))}
    if done.inserted:
        runextras.new_rows(ctx, int(run["rid"]))
    if done.merged:
        steps = done.merged_steps
        log.warning("run %s/%s/%s: %d history row(s) at steps it already held (%s) merged "
                    "into the stored rows (an id reused without resume?)", run["entity"],
                    run["project"], run["name"], done.merged,
                    ", ".join(map(str, steps[:5])) + (" ..." if len(steps) > 5 else ""))
        levelcache.forget(ctx, int(run["rid"]))
        levelcache.warm_later(ctx, after)
    elif done.repeats:
        log.debug("run %s/%s/%s: %d re-sent history row(s) already stored", run["entity"],
                  run["project"], run["name"], done.repeats)
        levelcache.warm_later(ctx, after)
    elif not (offset == before and levelcache.feed(ctx, after, rows)):
        levelcache.warm_later(ctx, after)

"""The history part of :meth:`PostgresStorage.append_lines`: rows matched by ``_step``.

A re-sent history line may come at another line number than the first copy (a resumed or
re-synced run), so rows are matched by step as well as by line (:mod:`.stepdedup` plans
which lines are inserted, which update a stored row and which are dropped). Runs in the
caller's transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg

from nbtrack.server.storage.base import step_of
from nbtrack.server.storage.stepdedup import Appended, old_steps, plan

__all__ = ["insert_history", "pg_text"]


def pg_text(s: str) -> str:
    """PostgreSQL text cannot hold NUL characters (JSON lines escape them anyway)."""
    return s.replace("\x00", "\ufffd") if "\x00" in s else s


def insert_history(db: psycopg.Connection[dict[str, Any]], rid: int, offset: int,
                   data: list[str], now: float) -> Appended:
    """Store history lines ``offset + i`` (already :func:`pg_text`) and raise the run's line
    count, last step and heartbeat; what was inserted, updated and dropped."""
    end = offset + len(data)
    numbers = list(range(offset, end))
    steps = [step_of(s) for s in data]
    # the run's row lock orders this run's posts: a step is looked up and written by one
    # post at a time
    row = db.execute("SELECT last_step FROM runs WHERE rid=%s FOR UPDATE", (rid,)).fetchone()
    olds = old_steps(steps, None if row is None else row["last_step"])
    stored: dict[int, tuple[int, str]] = {}
    if olds:
        # the range lets the planner scan only these steps of the index even
        # before the table has statistics (ANY alone: every row of the run,
        # 0.7 s per 1,000 steps of a 50,000-row run)
        for r in db.execute(
                "SELECT step, line, data FROM history WHERE rid=%s"
                " AND step BETWEEN %s AND %s AND step = ANY(%s)",
                (rid, olds[0], olds[-1], olds)):
            if r["step"] not in stored or r["line"] < stored[r["step"]][0]:
                stored[r["step"]] = (r["line"], r["data"])  # the first line wins
    todo = plan(offset, data, steps, stored)
    if todo.updates:
        db.execute(
            "UPDATE history h SET data=u.data FROM unnest(%s::bigint[],"
            " %s::text[]) AS u(line, data) WHERE h.rid=%s AND h.line=u.line",
            ([ln for ln, _ in todo.updates], [pg_text(t) for _, t in todo.updates], rid),
        )
    if todo.inserts is None:  # the common case: every line as it came
        cols: tuple[list[Any], list[Any], list[str]] = (numbers, steps, data)
    else:
        cols = ([i[0] for i in todo.inserts], [i[1] for i in todo.inserts],
                [pg_text(i[2]) for i in todo.inserts])
    # one statement: insert what is new, then count only what was inserted
    db.execute(
        "WITH ins AS ("
        " INSERT INTO history (rid, line, step, data)"
        " SELECT %s, * FROM unnest(%s::bigint[], %s::bigint[], %s::text[])"
        " ON CONFLICT DO NOTHING RETURNING step)"
        " UPDATE runs SET history_line_count=GREATEST(history_line_count, %s),"
        " last_step=GREATEST(last_step, (SELECT MAX(step) FROM ins)),"
        " heartbeat_at=%s, updated_at=%s WHERE rid=%s",
        (rid, *cols, end, now, now, rid),
    )
    return todo.result

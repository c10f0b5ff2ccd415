"""A run's console output as W&B's ``Run.logLines`` connection (``run.console_logs()``).

Lines are the stored ``output.log`` lines (:mod:`nbtrack.wire.output`): their number, UTC
time, level (``error`` for stderr, else ``info``) and text. A page is ``first`` lines after
the ``after`` cursor (a line number) or the ``last`` N lines; each is one index range of
the output table, at most :data:`MAX_LINES` lines.
"""

from __future__ import annotations

import base64
from typing import Any

from nbtrack.server.context import ServerContext
from nbtrack.server.wandb.graphql import GraphQLError
from nbtrack.wire.files import OUTPUT
from nbtrack.wire.output import parse_line

__all__ = ["MAX_LINES", "log_lines"]

MAX_LINES = 10_000


def _count(args: dict[str, Any], name: str) -> int | None:
    v = args.get(name)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 0 < v <= MAX_LINES:
        raise GraphQLError(f"logLines: {name} must be 1 to {MAX_LINES}")
    return v


def _cursor(n: int) -> str:
    return base64.b64encode(str(n).encode()).decode()


def log_lines(ctx: ServerContext, run: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    first, last = _count(args, "first"), _count(args, "last")
    if last is not None and (first is not None or args.get("after")):
        raise GraphQLError("logLines: last cannot be combined with first or after")
    after = None
    if isinstance(args.get("after"), str) and args["after"]:
        try:
            after = int(base64.b64decode(args["after"]).decode())
        except ValueError:
            raise GraphQLError("logLines: invalid cursor") from None
    limit = last or first or 1000
    rows = ctx.storage.numbered_lines(int(run["rid"]), OUTPUT, after, limit + 1,
                                      last=last is not None)
    more = last is None and len(rows) > limit
    rows = rows[-limit:] if last is not None else rows[:limit]
    edges = []
    for n, text in rows:
        line = parse_line(text)
        ts = line["time"]
        edges.append({"node": {"number": n, "timestamp": f"{ts}Z" if ts else None,
                               "level": "error" if line["stream"] == "stderr" else "info",
                               "label": "", "line": line["text"], "__typename": "LogLine"},
                      "cursor": _cursor(n), "__typename": "LogLineEdge"})
    return {"edges": edges,
            "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None,
                         "hasNextPage": more, "__typename": "PageInfo"},
            "__typename": "LogLineConnection"}

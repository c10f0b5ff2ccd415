"""W&B's ``models`` connection: ``wandb.Api().projects(entity)``, paged by name.

Projects are derived from the runs (one grouped index range per page request); the
cursor is the last project's name.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from nbtrack.server.wandb.graphql import GraphQLError
from nbtrack.server.wandb.publicapi.runs import MAX_PAGE, Req

__all__ = ["models"]

ProjectNode = Callable[[str, str], dict[str, Any]]


def models(req: Req, entity: str, args: dict[str, Any], node: ProjectNode) -> dict[str, Any]:
    first = args.get("first")
    limit = 50 if first is None else first
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_PAGE:
        raise GraphQLError(f"models: first must be 1 to {MAX_PAGE}")
    names = [str(p["project"]) for p in req.ctx.storage.list_projects(entity)]
    after = args.get("after")
    if isinstance(after, str) and after:
        try:
            last = base64.b64decode(after).decode()
        except ValueError:
            raise GraphQLError("models: invalid cursor") from None
        names = [n for n in names if n > last]
    page = names[:limit]
    edges = [{"node": node(entity, n), "cursor": base64.b64encode(n.encode()).decode(),
              "__typename": "ProjectEdge"} for n in page]
    return {
        "edges": edges,
        "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None,
                     "hasNextPage": len(names) > limit, "__typename": "PageInfo"},
        "__typename": "ProjectConnection",
    }

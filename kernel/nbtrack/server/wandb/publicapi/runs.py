"""The fields ``wandb.Api()`` reads from W&B's ``Project`` and ``Run`` types.

``project { internalId runCount(filters) readOnly runs(filters, order, first, after) }``:
the project's runs are read (at most :data:`MAX_RUNS`; a larger project answers a GraphQL
error naming ``runs``), filtered and ordered in :mod:`.filters`, and paged by a keyset
cursor (the last run's sort key and id), so a run that starts or changes between two
pages never shifts the rest of the listing. The listing (sort keys and names) is kept
between requests while the project's version holds (:func:`project_fields`), so
``runCount`` and every page of one listing share one evaluation. ``projectId`` /
``internalId`` are the project's first run id (stable, unique per project: nbtrack keeps
no project table).

The ``Run`` fields beyond what a logging client needs (``projectId``, ``readOnly``,
``commit``, history, files) are added to the run view of :mod:`..resolvers` here, as lazy
resolvers, so each costs only when selected.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from nbtrack.server.context import ServerContext, gid, iso, loads
from nbtrack.server.wandb.graphql import GraphQLError
from nbtrack.server.wandb.projection import with_args
from nbtrack.server.wandb.publicapi import console, files, history
from nbtrack.server.wandb.publicapi.filters import (
    FilterError,
    compare,
    compile_filter,
    descending,
    sort_runs,
)

__all__ = ["MAX_PAGE", "MAX_RUNS", "Req", "api_keys", "project_fields", "run_fields", "run_of_id",
           "user_view"]

MAX_RUNS = 20_000  # runs of one project a filtered listing evaluates
MAX_PAGE = 1000  # runs per page

Run = dict[str, Any]
Node = Callable[[Run], dict[str, Any]]


class Req(Protocol):
    """What these resolvers need of a GraphQL request (``resolvers.Request``)."""

    ctx: ServerContext
    base_url: str


def user_view(ctx: ServerContext, name: str) -> dict[str, Any]:
    """W&B's ``User`` owning a project: the entity's name and its teams. Another user's
    API keys are never listed (``apiKeys`` is the viewer's own only)."""
    return {"id": gid("User", name), "name": name, "username": name, "email": None,
            "admin": False, "flags": "{}", "entity": name, "deletedAt": None,
            "apiKeys": {"edges": []},
            "teams": lambda: {"edges": [{"node": {"name": t, "id": gid("Entity", t)}}
                                        for t in ctx.storage.teams_of(name)]},
            "__typename": "User"}


def api_keys(req: Req, user: str) -> dict[str, Any]:
    """A user's live API keys by id (``viewer.apiKeys``): ids only, never a key or its hash.
    The embedded server's single user has only the admin token, which is not listed."""
    if getattr(req, "principal", None) is None:
        return {"edges": []}
    keys = [k for k in req.ctx.storage.list_keys(user) if k["revoked_at"] is None]
    return {"edges": [{"node": {"id": k["key_id"], "name": k["key_id"], "description": None,
                                "__typename": "ApiKey"}} for k in keys]}


def _parsed(ctx: ServerContext, run: Run, heads: set[str]) -> Run:
    """A run row as filters see it: the state as read, tags parsed, and config / summary
    parsed only when the filter or order names them (``heads``): parsing every run's
    config is most of a page's cost."""
    return {**run, "config": loads(run["config"], {}) if "config" in heads else {},
            "summary": loads(run["summary"], {}) if "summary" in heads else {},
            "tags": loads(run["tags"], []), "state": ctx.effective_state(run)}


def _heads(filters_text: str, order: Any) -> set[str]:
    """Which JSON columns a filter and an order may read (a superset is harmless)."""
    text = filters_text + " " + str(order or "")
    out = set()
    if "config" in text:
        out.add("config")
    if "summary" in text:
        out.add("summary")
    return out


def _cursor(key: list[Any]) -> str:
    return base64.b64encode(json.dumps(key).encode()).decode()


def _uncursor(text: str) -> list[Any]:
    try:
        key = json.loads(base64.b64decode(text))
    except ValueError:
        raise GraphQLError("runs: invalid cursor") from None
    kinds = {0: (int,), 1: (int, float), 2: (str,), 3: (str,)}  # filters.order_key's ranks
    if not (isinstance(key, list) and len(key) == 4 and key[0] in (0, 1)
            and type(key[1]) is int and key[1] in kinds and type(key[3]) is int
            and isinstance(key[2], kinds[key[1]]) and not isinstance(key[2], bool)):
        raise GraphQLError("runs: invalid cursor")
    return key


Keyed = tuple[list[Any], str]  # (sort key, run name)
_LISTINGS: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], float, list[Keyed]]] = \
    OrderedDict()
_LISTINGS_LOCK = threading.Lock()
_LISTINGS_KEPT = 16  # listings (filter + order of one project) kept between requests
LISTING_TTL = 10.0  # seconds: a run's read state (crashed) depends on the clock too


def _after(ordered: list[Keyed], cursor: list[Any], desc: bool) -> int:
    """The index of the first run after ``cursor`` (a binary search of the sort keys)."""
    lo, hi = 0, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if compare(ordered[mid][0], cursor, desc) > 0:
            hi = mid
        else:
            lo = mid + 1
    return lo


def project_fields(req: Req, entity: str, project: str, node: Node) -> dict[str, Any]:
    """``internalId``, ``runCount``, ``runs``, ``readOnly``, ``createdAt``... of a project."""
    ctx = req.ctx
    info: dict[str, Any] = {}

    def about() -> dict[str, Any]:
        if not info:
            info.update(ctx.storage.project_info(entity, project) or {"missing": True})
        return info

    def listing(filters: Any, order: Any) -> list[Keyed]:
        """The matching runs' (sort key, name) in order; kept between requests while the
        project's version (run count, latest update) is the same, so paging through a
        large project reads its runs once, not once per page."""
        text = filters if isinstance(filters, str) else json.dumps(filters)
        version = (about().get("run_count"), about().get("updated_at"))
        key = (id(ctx), entity, project, text, str(order))
        now = time.monotonic()
        with _LISTINGS_LOCK:
            hit = _LISTINGS.get(key)
            if hit is not None and hit[0] == version and hit[1] > now:
                _LISTINGS.move_to_end(key)
                return hit[2]
        try:
            pred = compile_filter(filters)
            count = int(about().get("run_count") or 0)
            if count > MAX_RUNS:  # refused before any run is read
                raise GraphQLError(f"runs: the project has {count} runs; a listing is "
                                   f"bounded to {MAX_RUNS}")
            heads = _heads(text, order)
            rows = [p for p in (_parsed(ctx, r, heads)
                                for r in ctx.storage.list_runs(entity, project)) if pred(p)]
            keyed = [(k, str(r["name"])) for k, r in sort_runs(rows, order)]
        except FilterError as e:
            raise GraphQLError(f"runs: {e}") from None
        with _LISTINGS_LOCK:
            _LISTINGS[key] = (version, now + LISTING_TTL, keyed)
            while len(_LISTINGS) > _LISTINGS_KEPT:
                _LISTINGS.popitem(last=False)
        return keyed

    def run_count(args: dict[str, Any]) -> int:
        return len(listing(args.get("filters"), None))

    def runs(args: dict[str, Any]) -> dict[str, Any]:
        first = args.get("first")
        limit = 50 if first is None else first
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_PAGE:
            raise GraphQLError(f"runs: first must be 1 to {MAX_PAGE}")
        order = args.get("order")
        ordered = listing(args.get("filters"), order)
        try:
            desc = descending(order)
        except FilterError as e:
            raise GraphQLError(f"runs: {e}") from None
        start = 0
        after = args.get("after")
        if isinstance(after, str) and after:
            start = _after(ordered, _uncursor(after), desc)
        page = ordered[start:start + limit]
        edges = []
        for k, name in page:
            run = ctx.storage.get_run(entity, project, name)
            if run is not None:  # runs are never deleted; kept for safety
                edges.append({"node": node(run), "cursor": _cursor(k), "__typename": "RunEdge"})
        return {
            "edges": edges,
            "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None,
                         "hasNextPage": start + limit < len(ordered), "__typename": "PageInfo"},
            "totalCount": len(ordered),
            "__typename": "RunConnection",
        }

    def internal_id() -> str | None:
        rid = about().get("first_rid")
        return None if rid is None else str(rid)

    return {
        "internalId": internal_id,
        "runCount": with_args(run_count),
        "runs": with_args(runs),
        "readOnly": False,
        "createdAt": lambda: iso(about().get("created_at")),
        "isBenchmark": False,
        "user": user_view(ctx, entity),
    }


def _commit(ctx: ServerContext, run: Run) -> str | None:
    """The git commit the client reported in ``wandb-metadata.json`` (None without git)."""
    f = ctx.files.open_read(run["entity"], run["project"], run["name"], "wandb-metadata.json")
    if f is None:
        return None
    with f:
        meta = loads(f.read(1 << 20).decode("utf-8", "replace"), {})
    commit = (meta.get("git") or {}).get("commit") if isinstance(meta, dict) else None
    return commit if isinstance(commit, str) else None


def run_fields(req: Req, run: Run) -> dict[str, Any]:
    """The ``Run`` fields of the public API, lazy: each costs only when selected."""
    ctx = req.ctx

    def project_id() -> int | None:
        info = ctx.storage.project_info(run["entity"], run["project"])
        return None if info is None else int(info["first_rid"])

    return {
        "projectId": project_id,
        "readOnly": False,
        "commit": lambda: _commit(ctx, run),
        "fileCount": lambda: files.file_count(ctx, run),
        "files": with_args(lambda a: files.files_connection(ctx, req.base_url, run, a)),
        "logLines": with_args(lambda a: console.log_lines(ctx, run, a)),
        **history.lazy(ctx, run),
    }


def run_of_id(storage_id: Any) -> tuple[str, str, str] | None:
    """(entity, project, name) of a run's global id (``Run.id``; ``run.update()`` sends it)."""
    if not isinstance(storage_id, str) or not storage_id:
        return None
    try:
        parts = base64.b64decode(storage_id, validate=True).decode().split(":")
    except ValueError:
        return None
    if len(parts) != 5 or parts[:2] != ["Run", "v1"]:
        return None
    return parts[4], parts[3], parts[2]

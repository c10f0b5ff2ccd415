"""The JSON read API (``/api/v1/...``) for ``nbtrack.Api``, the CLI, the notebook and the
run pages: which path answers what, and who may read it.

A principal sees only its own entities' runs. The answers are encoded by
:mod:`nbtrack.wire.strictjson` (strict JSON: NaN / ±inf as strings); stored lines are
spliced in without re-encoding (:func:`~nbtrack.wire.strictjson.join_rows`).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from nbtrack.server import runextras
from nbtrack.server.auth import Principal
from nbtrack.server.context import ServerContext, iso, loads
from nbtrack.server.readapi import media
from nbtrack.server.readapi.artifacts import run_artifacts
from nbtrack.server.readapi.history import Answer, history
from nbtrack.server.storage.files import safe_name
from nbtrack.wire import strictjson
from nbtrack.wire.config import unwrap
from nbtrack.wire.files import EVENTS, OUTPUT


def run_view(ctx: ServerContext, run: dict[str, Any]) -> dict[str, Any]:
    summary = loads(run["summary"], {})
    return {
        "id": run["name"],
        "entity": run["entity"],
        "project": run["project"],
        "name": run["display_name"] or run["name"],
        "state": ctx.effective_state(run),
        "config": unwrap(run["config"]),
        "summary": summary if isinstance(summary, dict) else {},
        "tags": loads(run["tags"], []),
        "notes": run["notes"] or run["description"],
        "group": run["group_name"],
        "job_type": run["job_type"],
        "created_at": iso(run["created_at"]),
        "updated_at": iso(run["updated_at"]),
        "heartbeat_at": iso(run["heartbeat_at"]),
        "history_line_count": run["history_line_count"],
        "last_step": run["last_step"],
        "exit_code": run["exit_code"],
    }


def viewer(ctx: ServerContext, principal: Principal | None = None) -> dict[str, Any]:
    name = principal.user if principal is not None else ctx.entity
    teams = list(principal.teams) if principal is not None else []
    return {"entity": name, "username": name, "teams": teams, "version": ctx.version}


def _denied(entity: str) -> Answer:
    return 403, {"error": f"permission denied: entity {entity!r} is not yours"}


def handle(
    ctx: ServerContext, path: str, query: str, principal: Principal | None = None
) -> Answer:
    """GET ``/api/v1/<path>``; ``principal`` sees only its own entities' runs."""
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
    params = urllib.parse.parse_qs(query)
    if parts == ["viewer"]:
        return 200, viewer(ctx, principal)
    mine = principal.entities if principal is not None else None
    if parts == ["runs"]:
        entity = params.get("entity", [None])[0]
        project = params.get("project", [None])[0]
        if entity and principal is not None and not principal.can(entity):
            return _denied(entity)
        runs = ctx.storage.list_runs(entity, project, mine)
        return 200, {"runs": [run_view(ctx, r) for r in runs]}
    if len(parts) < 4 or parts[0] != "runs":
        return 404, {"error": "not found"}
    entity, project, name, rest = parts[1], parts[2], parts[3], parts[4:]
    if principal is not None and not principal.can(entity):
        return _denied(entity)
    run = ctx.storage.get_run(entity, project, name)
    if run is None:
        return 404, {"error": f"run {entity}/{project}/{name} not found"}
    rid = int(run["rid"])
    if not rest:
        return 200, run_view(ctx, run)
    if rest == ["history"]:
        return history(ctx, run, params)
    if rest == ["media"]:
        return media.handle(ctx, run, params)
    if rest == ["events"]:
        lines = ctx.storage.lines(rid, EVENTS)
        return 200, strictjson.join_rows(lines)
    if rest == ["alerts"]:
        return 200, {"alerts": runextras.alerts(ctx, rid)}
    if rest == ["stop"]:
        return 200, {"stop_requested": runextras.stop_requested(ctx, rid)}
    if rest == ["output"]:
        return 200, {"lines": ctx.storage.lines(rid, OUTPUT)}
    if rest == ["files"]:
        return 200, {"files": ctx.list_files(run)}
    if rest == ["artifacts"]:
        return 200, run_artifacts(ctx, rid)
    if rest[0] == "files" and len(rest) > 1:
        fname = safe_name("/".join(rest[1:]))
        try:
            stored = ctx.files.open_read(entity, project, name, fname) if fname else None
        except ValueError:
            fname = None
        if not fname:
            return 400, {"error": "invalid file name"}
        if stored is None:
            return 404, {"error": "file not found"}
        return 200, stored
    return 404, {"error": "not found"}


def post(ctx: ServerContext, path: str, principal: Principal | None = None) -> Answer:
    """POST ``/api/v1/runs/<e>/<p>/<id>/stop``: ask the run to stop (it polls for it)."""
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
    if len(parts) != 5 or parts[0] != "runs" or parts[4] != "stop":
        return 404, {"error": "not found"}
    if principal is not None and not principal.can(parts[1]):
        return _denied(parts[1])
    run = ctx.storage.get_run(parts[1], parts[2], parts[3])
    if run is None:
        return 404, {"error": f"run {parts[1]}/{parts[2]}/{parts[3]} not found"}
    runextras.request_stop(ctx, int(run["rid"]))
    return 200, {"stop_requested": True}

"""The GraphQL operations: an explicit table from top-level field name to resolver.

Resolvers return plain dicts (W&B field names); :func:`.projection.project` keeps what the
query selected. Costly fields are lazy callables, computed only when selected.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbtrack.server import runextras
from nbtrack.server.auth import Principal
from nbtrack.server.context import DEFAULT_PROJECT, ServerContext, gid, iso, loads, log
from nbtrack.server.storage.blobs import BLOB_PROJECT
from nbtrack.server.storage.files import safe_name
from nbtrack.server.wandb import querylimits, uploads
from nbtrack.server.wandb.artifacts import mutations as artifact_ops
from nbtrack.server.wandb.artifacts import views as artifact_views
from nbtrack.server.wandb.graphql import GraphQLError, parse
from nbtrack.server.wandb.projection import collect_fields, project, resolve_value, with_args
from nbtrack.server.wandb.publicapi import projects as public_projects
from nbtrack.server.wandb.publicapi import runs as public_runs
from nbtrack.wire.config import wandb_block
from nbtrack.wire.files import EVENTS, HISTORY
from nbtrack.wire.jsonshape import ShapeError, check
from nbtrack.wire.names import name_problem

TAIL_LINES = 10


@dataclass
class Request:
    """One GraphQL request: the server context and the base URL the client reached us at."""

    ctx: ServerContext
    base_url: str
    principal: Principal | None = None  # None: the embedded server's single user
    seq: int | None = None  # the request's place in its run's order (wire/ordering.py)

    @property
    def user(self) -> str:
        return self.principal.user if self.principal is not None else self.ctx.entity

    def entity_or_default(self, entity: Any) -> str:
        """The named entity (checked: the caller's own or a team of theirs) or the caller's."""
        name = entity if isinstance(entity, str) and entity else self.user
        if self.principal is not None and not self.principal.can(name):
            raise PermissionDenied(f"permission denied: entity {name!r} is not yours")
        return name


class PermissionDenied(GraphQLError):
    """Another entity's runs: answered with HTTP 403 and an error coded PERMISSION_DENIED."""


def denied(answer: dict[str, Any]) -> bool:
    """True when a GraphQL answer carries a permission error (the HTTP status is 403)."""
    return any(
        (e.get("extensions") or {}).get("code") == "PERMISSION_DENIED"
        for e in answer.get("errors") or []
    )


Resolver = Callable[[Request, dict[str, Any]], Any]


def _entity(req: Request, name: str) -> dict[str, Any]:
    return {"id": gid("Entity", name), "name": name, "__typename": "Entity"}


def project_view(req: Request, entity: str, project: str) -> dict[str, Any]:
    """A project (model) with lazy ``bucket`` / ``run`` lookups by name."""

    def bucket(args: dict[str, Any]) -> dict[str, Any] | None:
        name = args.get("name")
        if not isinstance(name, str) or not name:
            return None
        run = req.ctx.storage.get_run(entity, project, name)
        return bucket_view(req, run) if run else None

    return {
        **public_runs.project_fields(req, entity, project, lambda run: bucket_view(req, run)),
        **artifact_views.project_fields(req, ARTIFACT_VIEWS, entity, project),
        "id": gid("Project", project, entity),
        "name": project,
        "entityName": entity,
        "entity": _entity(req, entity),
        "bucket": with_args(bucket),
        "run": with_args(bucket),
        "__typename": "Project",
    }


def bucket_view(req: Request, run: dict[str, Any]) -> dict[str, Any]:
    ctx, rid = req.ctx, int(run["rid"])

    def tail(file: str) -> Callable[[], str]:
        return lambda: json.dumps(ctx.storage.tail(rid, file, TAIL_LINES))

    @with_args
    def wandb_config(args: dict[str, Any]) -> str:
        """``_wandb`` config values by key; W&B clients read ``t`` to tell a started run."""
        values = wandb_block(run["config"])
        keys = args.get("keys")
        if isinstance(keys, list):
            values = {k: values[k] for k in keys if k in values}
        return json.dumps(values)

    return {
        **public_runs.run_fields(req, run),
        **artifact_views.run_fields(req, ARTIFACT_VIEWS, run),
        "wandbConfig": wandb_config,
        "id": gid("Run", run["name"], run["project"], run["entity"]),
        "name": run["name"],
        "displayName": run["display_name"] or run["name"],
        "description": run["notes"] or run["description"],
        "notes": run["notes"],
        "state": ctx.effective_state(run),
        "config": run["config"],
        "summaryMetrics": run["summary"],
        "tags": loads(run["tags"], []),
        "group": run["group_name"],
        "jobType": run["job_type"],
        "host": run["host"],
        "sweepName": run["sweep_name"],
        "exitcode": run["exit_code"],
        "historyLineCount": run["history_line_count"],
        "eventsLineCount": run["events_line_count"],
        "logLineCount": run["log_line_count"],
        "historyTail": tail(HISTORY),
        "eventsTail": tail(EVENTS),
        "createdAt": iso(run["created_at"]),
        "updatedAt": iso(run["updated_at"]),
        "heartbeatAt": iso(run["heartbeat_at"]),
        "stopped": lambda: runextras.stop_requested(ctx, rid),
        "project": lambda: project_view(req, run["entity"], run["project"]),
        "user": {"id": gid("User", ctx.entity), "username": ctx.entity, "name": ctx.entity},
        "__typename": "Run",
    }


def viewer(req: Request, args: dict[str, Any]) -> dict[str, Any]:
    name = req.user
    teams = req.principal.teams if req.principal is not None else ()
    return {
        "id": gid("User", name),
        "entity": name,
        "username": name,
        "name": name,
        "email": f"{name}@localhost",
        "flags": "{}",
        "admin": False,
        "teams": {"edges": [{"node": {"name": t, "id": gid("Entity", t)}} for t in teams]},
        "apiKeys": lambda: public_runs.api_keys(req, name),
        "deletedAt": None,
        "__typename": "User",
    }


def entity(req: Request, args: dict[str, Any]) -> dict[str, Any]:
    given = args.get("name")
    name = given if isinstance(given, str) and given else req.user
    return {**_entity(req, name), "isTeam": False, "organization": None, "defaultAccess": "PRIVATE",
            "xxhashDigestsEnabled": False}


def server_info(req: Request, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "cliVersionInfo": "{}",
        "latestLocalVersionInfo": None,
        "features": [],
        "frontendHost": req.base_url,
        "__typename": "ServerInfo",
    }


def _json_text(value: Any, label: str) -> str | None:
    """A JSONString input: accepted as a string (kept verbatim) or as an object."""
    if value is None:
        return None
    if isinstance(value, str):
        try:  # read back on every view of the run: bounded like a request body
            check(value)
        except ShapeError as e:
            raise GraphQLError(f"invalid {label}: its JSON {e}") from None
        return value
    return json.dumps(value)


def _check_names(*named: tuple[str, Any]) -> None:
    """A GraphQL error naming the first unusable run or project name (None: not given)."""
    for label, value in named:
        why = None if value is None or value == "" else name_problem(value)
        if why is not None:
            shown = value[:40] + "..." if isinstance(value, str) and len(value) > 40 else value
            raise GraphQLError(f"invalid {label} {shown!r}: it {why}")


def upsert_bucket(req: Request, args: dict[str, Any]) -> dict[str, Any]:
    inp = args.get("input")
    if not isinstance(inp, dict):
        raise GraphQLError("upsertBucket needs an input object")
    by_id = None if inp.get("name") else public_runs.run_of_id(inp.get("id"))
    if by_id is not None:  # the public API's run.update() names the run by its id
        inp = {**inp, "entityName": by_id[0], "modelName": by_id[1], "name": by_id[2]}
        req.entity_or_default(by_id[0])  # another entity's run: permission denied first
        known = req.ctx.storage.get_run(*by_id)
        if known is None:
            raise GraphQLError(f"upsertBucket: no run with id {inp.get('id')!r}")
        if inp.get("state") is None:  # an edit of a run, not a resume: its state stays
            inp["state"] = known["state"]
    name = inp.get("name") or secrets.token_hex(4)
    project = inp.get("modelName") or DEFAULT_PROJECT
    entity = req.entity_or_default(inp.get("entityName"))
    for label, value in (("name", name), ("modelName", project), ("entityName", entity)):
        if not isinstance(value, str) or safe_name(value) != value or "/" in value:
            raise GraphQLError(f"invalid {label}: {value!r}")
    _check_names(("name", name), ("modelName", project), ("displayName", inp.get("displayName")))
    if project == BLOB_PROJECT:
        raise GraphQLError(f"invalid modelName {project!r}: it is reserved for artifact files")
    tags = inp.get("tags")
    fields = {
        "display_name": inp.get("displayName"),
        "description": inp.get("description"),
        "notes": inp.get("notes") if inp.get("notes") is not None else inp.get("description"),
        "group_name": inp.get("groupName"),
        "job_type": inp.get("jobType"),
        "host": inp.get("host"),
        "sweep_name": inp.get("sweep"),
        "tags": json.dumps([str(t) for t in tags]) if isinstance(tags, list) else None,
        "config": _json_text(inp.get("config"), "config"),
        "summary": _json_text(inp.get("summaryMetrics"), "summaryMetrics"),
    }
    state = inp.get("state")
    if state is not None and state not in ("running", "finished", "failed", "crashed"):
        raise GraphQLError(f"invalid state {state!r}")
    run, inserted = req.ctx.storage.upsert_run(entity, project, name, fields, state, req.seq)
    runextras.run_upserted(req.ctx, int(run["rid"]))
    return {
        "bucket": bucket_view(req, run),
        "inserted": inserted,
        "__typename": "UpsertBucketPayload",
    }


def model(req: Request, args: dict[str, Any]) -> dict[str, Any] | None:
    name = args.get("name") or DEFAULT_PROJECT
    if not isinstance(name, str):
        raise GraphQLError("model(name:) must be a string")
    return project_view(req, req.entity_or_default(args.get("entityName")), name)


def models(req: Request, args: dict[str, Any]) -> dict[str, Any]:
    """``models(entityName:)``: the entity's projects (``wandb.Api().projects()``)."""
    entity = req.entity_or_default(args.get("entityName"))
    return public_projects.models(req, entity, args, lambda e, p: project_view(req, e, p))


def create_run_files(req: Request, args: dict[str, Any]) -> dict[str, Any]:
    inp = args.get("input")
    if not isinstance(inp, dict):
        raise GraphQLError("createRunFiles needs an input object")
    entity = req.entity_or_default(inp.get("entityName"))
    project = inp.get("projectName") or DEFAULT_PROJECT
    name = inp.get("runName")
    files = inp.get("files")
    if not isinstance(name, str) or not isinstance(project, str) or not isinstance(files, list):
        raise GraphQLError("createRunFiles needs projectName, runName and files")
    run = req.ctx.storage.get_run(entity, project, name)
    if run is None:
        raise GraphQLError(f"run {entity}/{project}/{name} not found")
    out = []
    for f in files:
        clean = safe_name(f) if isinstance(f, str) else None
        if clean is None:
            raise GraphQLError(f"invalid file name {f!r}")
        try:
            url = uploads.url_for(req.ctx, req.base_url, entity, project, name, clean,
                                  req.principal.key_id if req.principal else None)
        except ValueError as e:  # a run path the store cannot hold
            raise GraphQLError(str(e)) from None
        out.append({"name": f, "uploadUrl": url, "__typename": "File"})
    return {
        "runID": gid("Run", name, project, entity),
        "uploadHeaders": [],
        "files": out,
        "__typename": "CreateRunFilesPayload",
    }


_TYPE_FIELDS = {
    "CreateRunFilesPayload": ["runID", "uploadHeaders", "files"],
    "ServerInfo": ["cliVersionInfo", "latestLocalVersionInfo", "features", "frontendHost"],
    "Run": [
        "id",
        "name",
        "displayName",
        "state",
        "config",
        "summaryMetrics",
        "historyLineCount",
        "eventsLineCount",
        "logLineCount",
        "historyTail",
        "eventsTail",
        "tags",
        # the public API's (server/wandb/publicapi/)
        "projectId", "readOnly", "commit", "historyKeys", "history", "sampledHistory",
        "events", "systemMetrics", "parquetHistory", "files", "fileCount", "logLines",
        "createdAt", "heartbeatAt", "notes", "description", "group", "jobType", "user",
        "sweepName",
    ],
    "Project": ["id", "name", "entityName", "internalId", "runCount", "runs", "run", "bucket",
                "readOnly", "createdAt", "isBenchmark", "user"],
}


def type_introspection(req: Request, args: dict[str, Any]) -> dict[str, Any] | None:
    """``__type(name:)``: clients probe it to learn which fields the server has."""
    fields = _TYPE_FIELDS.get(str(args.get("name")))
    if fields is None:
        return None
    return {"name": args["name"], "fields": [{"name": f} for f in fields], "inputFields": []}


def notify_alert(req: Request, args: dict[str, Any]) -> dict[str, Any]:
    """W&B's ``notifyScriptableRunAlert``: the alert is kept with the run."""
    inp = args.get("input")
    if not isinstance(inp, dict):
        raise GraphQLError("notifyScriptableRunAlert needs an input object")
    entity = req.entity_or_default(inp.get("entityName"))
    project = inp.get("projectName") or DEFAULT_PROJECT
    run = req.ctx.storage.get_run(entity, project, str(inp.get("runName") or ""))
    if run is None:
        raise GraphQLError(f"run {entity}/{project}/{inp.get('runName')} not found")
    if not runextras.add_alert(req.ctx, int(run["rid"]), str(inp.get("title") or ""),
                               str(inp.get("text") or ""), str(inp.get("severity") or "INFO")):
        log.info("alert %r of %s/%s/%s already stored: a replay, kept once", inp.get("title"),
                 entity, project, inp.get("runName"))
    return {"success": True}


ARTIFACT_VIEWS = artifact_views.Views(run=bucket_view, project=project_view)

RESOLVERS: dict[str, Resolver] = {
    "viewer": viewer,
    "serverInfo": server_info,
    "entity": entity,
    "upsertBucket": upsert_bucket,
    "model": model,
    "project": model,
    "models": models,
    "createRunFiles": create_run_files,
    "__type": type_introspection,
    "notifyScriptableRunAlert": notify_alert,
    **artifact_ops.resolvers(ARTIFACT_VIEWS),
}


def execute(req: Request, body: Any) -> dict[str, Any]:
    """Run one GraphQL request body ``{query, variables, operationName}``."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {
            "data": None,
            "errors": [{"message": "the body must be a JSON object with a query"}],
        }
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        return {"data": None, "errors": [{"message": "variables must be an object"}]}
    try:
        doc = parse(body["query"])
        op = doc.operation(body.get("operationName") or None)
        querylimits.check(doc, op)
        fields = collect_fields(op.selections, doc, {**op.variable_defaults, **variables})
    except GraphQLError as e:
        return {"data": None, "errors": [{"message": str(e)}]}
    variables = {**op.variable_defaults, **variables}
    log.debug("graphql %s %s: %s", op.kind, op.name, " ".join(body["query"].split())[:2000])
    data: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for f in fields:
        if f.name == "__typename":
            data[f.key] = "Mutation" if op.kind == "mutation" else "Query"
            continue
        resolver = RESOLVERS.get(f.name)
        if resolver is None:
            log.warning("graphql: unknown field %r", f.name)
            errors.append({"message": f"unknown field {f.name!r}", "path": [f.key]})
            data[f.key] = None
            continue
        missing: list[str] = []
        try:
            value = resolver(req, {k: resolve_value(v, variables) for k, v in f.args.items()})
            data[f.key] = project(value, f.selections, doc, variables, missing.append)
        except GraphQLError as e:
            errors.append({"message": str(e), "path": [f.key]})
            if isinstance(e, PermissionDenied):
                errors[-1]["extensions"] = {"code": "PERMISSION_DENIED"}
            data[f.key] = None
        if missing:  # never a silent null: the answer says which fields are not served
            names = ", ".join(sorted(set(missing)))
            log.info("graphql: %s: unknown sub-fields answered with an error: %s", f.name, names)
            errors.append({"message": f"unknown field(s) under {f.name!r}: {names}",
                           "path": [f.key]})
    out: dict[str, Any] = {"data": data}
    if errors:
        out["errors"] = errors
    return out

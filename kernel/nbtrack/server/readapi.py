"""The JSON read API (``/api/v1/...``) for the notebook and the CLI.

History without ``samples`` is served from the stored line texts without re-encoding
when no key filter is asked, so a long run's full history costs one join of strings. The
answers are encoded by :mod:`nbtrack.server.wirejson` (strict JSON: NaN / ±inf as strings).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections import OrderedDict
from pathlib import Path
from typing import Any

from nbtrack.server import histindex, runextras, uploads, wirejson
from nbtrack.server.auth import Principal
from nbtrack.server.context import ServerContext, iso, loads, unwrap_config
from nbtrack.server.downsample import downsample

Answer = tuple[int, Any]  # (status, JSON-able value | bytes | Path)
MAX_SAMPLES = 100_000


def run_view(ctx: ServerContext, run: dict[str, Any]) -> dict[str, Any]:
    summary = loads(run["summary"], {})
    return {
        "id": run["name"],
        "entity": run["entity"],
        "project": run["project"],
        "name": run["display_name"] or run["name"],
        "state": ctx.effective_state(run),
        "config": unwrap_config(run["config"]),
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


def _int(params: dict[str, list[str]], name: str) -> int | None:
    raw = params.get(name, [""])[0]
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


_CACHE: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def _sampled(
    ctx: ServerContext,
    run: dict[str, Any],
    lines: list[str] | None,
    keys: list[str] | None,
    samples: int,
    lo: int | None,
    hi: int | None,
) -> list[dict[str, Any]]:
    """Downsampled rows, cached: a chart polling a finished run costs nothing the second time.

    ``updated_at`` changes with every stored line, so it versions the run's history.
    """
    key = (
        id(ctx),
        run["rid"],
        run["updated_at"],
        run["history_line_count"],
        tuple(keys) if keys else None,
        samples,
        lo,
        hi,
    )
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    if lines is None:  # read only on a cache miss
        lines = ctx.storage.history(int(run["rid"]), lo, hi)
    rows = [r for r in (loads(s, None) for s in lines) if isinstance(r, dict)]
    out = downsample(rows, keys, samples)
    with _CACHE_LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return out


def history(ctx: ServerContext, run: dict[str, Any], params: dict[str, list[str]]) -> Answer:
    try:
        samples, lo, hi = (
            _int(params, "samples"),
            _int(params, "min_step"),
            _int(params, "max_step"),
        )
    except ValueError as e:
        return 400, {"error": str(e)}
    raw_keys = params.get("keys", [""])[0]
    keys = [k for k in raw_keys.split(",") if k] or None
    if samples is not None and not 1 <= samples <= MAX_SAMPLES:
        return 400, {"error": f"samples must be between 1 and {MAX_SAMPLES}"}
    if samples is not None:
        # long ranges from the precomputed min/max levels; fine zooms from the stored rows
        fast = histindex.query(id(ctx), ctx.storage, run, keys, samples, lo, hi)
        if fast is not None:
            return 200, {"rows": fast}
        return 200, {"rows": _sampled(ctx, run, None, keys, samples, lo, hi)}
    lines = ctx.storage.history(int(run["rid"]), lo, hi)
    if keys is None:
        return 200, wirejson.join_rows(lines)
    rows = [r for r in (loads(s, None) for s in lines) if isinstance(r, dict)]
    wanted = {"_step", *keys}
    picked = [{k: v for k, v in r.items() if k in wanted} for r in rows]
    return 200, {"rows": [r for r in picked if len(r) > 1 or "_step" not in r]}


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
    if rest == ["events"]:
        lines = ctx.storage.lines(rid, "wandb-events.jsonl")
        return 200, wirejson.join_rows(lines)
    if rest == ["alerts"]:
        return 200, {"alerts": runextras.alerts(ctx, rid)}
    if rest == ["stop"]:
        return 200, {"stop_requested": runextras.stop_requested(ctx, rid)}
    if rest == ["output"]:
        return 200, {"lines": ctx.storage.lines(rid, "output.log")}
    if rest == ["files"]:
        return 200, {"files": ctx.storage.list_files(rid)}
    if rest[0] == "files" and len(rest) > 1:
        fname = uploads.safe_name("/".join(rest[1:]))
        target = fname and uploads.target(ctx.files_dir, entity, project, name, fname)
        if not target:
            return 400, {"error": "invalid file name"}
        if not target.is_file():
            return 404, {"error": "file not found"}
        return 200, Path(target)
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

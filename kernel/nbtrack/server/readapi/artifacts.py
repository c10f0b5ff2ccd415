"""A run's artifacts for the run pages and ``nbtrack.Api``: the versions it logged and used.

``GET /api/v1/runs/<entity>/<project>/<run>/artifacts`` answers ``{"logged": [...], "used":
[...]}``: each committed version with its name (``collection:vN``), type, aliases, digest,
size, file count, ``received_bytes`` (the file bytes uploaded for it: the rest were held
already), its first :data:`MAX_FILES` files (name, size, digest) and its lineage:
``logged_by`` (the run that logged it) and ``used_by`` (the first :data:`MAX_USERS` runs
that used it), runs of the version's own entity only. Pending versions are not listed.
"""

from __future__ import annotations

from typing import Any

from nbtrack.server.context import ServerContext, iso, loads
from nbtrack.server.storage.blobs import hex_digest, open_blob
from nbtrack.server.storage.files import StoredFile

__all__ = ["MAX_FILES", "MAX_USERS", "artifact_file", "run_artifacts"]

MAX_FILES = 1000
MAX_USERS = 100


def _run_ref(ctx: ServerContext, rid: int | None, entity: str) -> dict[str, Any] | None:
    run = ctx.storage.artifacts.run_of(rid) if rid is not None else None
    if run is None or run["entity"] != entity:
        return None
    return {"entity": run["entity"], "project": run["project"], "id": run["name"],
            "name": run["display_name"] or run["name"]}


def _version(ctx: ServerContext, v: dict[str, Any]) -> dict[str, Any]:
    arts = ctx.storage.artifacts
    vid = int(v["id"])
    files = arts.files(vid, None, None, MAX_FILES)
    return {
        "name": f"{v['collection_name']}:v{v['version_index']}",
        "collection": v["collection_name"],
        "version": v["version_index"],
        "type": v["type_name"],
        "entity": v["entity"],
        "project": v["project"],
        "aliases": sorted(a["alias"] for a in arts.aliases(vid)
                          if int(a["collection_id"]) == int(v["collection_id"])),
        "digest": v["digest"],
        "size": v["size"],
        "file_count": v["file_count"],
        "received_bytes": v["received_bytes"],
        "metadata": loads(v["metadata"], {}),
        "created_at": iso(v["created_at"]),
        "files": [{"name": f["name"], "size": f["size"], "digest": f["digest"],
                   "ref": f["ref"]} for f in files],
        "files_truncated": int(v["file_count"]) > len(files),
        "logged_by": _run_ref(ctx, v["run_rid"], v["entity"]),
        "used_by": [ref for ref in (_run_ref(ctx, u, v["entity"])
                                    for u in arts.users(vid)[:MAX_USERS]) if ref is not None],
    }


def run_artifacts(ctx: ServerContext, rid: int) -> dict[str, Any]:
    arts = ctx.storage.artifacts
    return {"logged": [_version(ctx, v) for v in arts.logged_by_run(rid)],
            "used": [_version(ctx, v) for v in arts.used_by_run(rid)]}


def artifact_file(ctx: ServerContext, rid: int, version: str,
                  path: str) -> tuple[int, dict[str, Any] | StoredFile]:
    """``GET .../<run>/artifacts/<name:vN>/files/<path>``: one file of a version this run
    logged or used (the run page's download links), read from the entity's stored bodies."""
    arts = ctx.storage.artifacts
    found = next((v for v in [*arts.logged_by_run(rid), *arts.used_by_run(rid)]
                  if f"{v['collection_name']}:v{v['version_index']}" == version), None)
    if found is None:
        return 404, {"error": f"this run logged or used no artifact {version!r}"}
    entry = next(iter(arts.files(int(found["id"]), [path], None, 1)), None)
    if entry is None:
        return 404, {"error": f"artifact {version} has no file {path!r}"}
    if entry["ref"]:
        return 404, {"error": f"{path!r} is a reference ({entry['ref']}): not stored here"}
    hexd = hex_digest(entry["digest"])
    body = open_blob(arts, ctx.files, found["entity"], hexd) if hexd else None
    if body is None:
        return 404, {"error": f"the body of {path!r} is not stored"}
    return 200, body

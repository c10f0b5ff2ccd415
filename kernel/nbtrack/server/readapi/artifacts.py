"""A run's artifacts for the run pages and ``nbtrack.Api``: the versions it logged and used.

``GET /api/v1/runs/<entity>/<project>/<run>/artifacts`` answers ``{"logged": [...], "used":
[...]}``: each committed version with its name (``collection:vN``), type, aliases, digest,
size, file count, ``received_bytes`` (the file bytes uploaded for it: the rest were held
already) and its first :data:`MAX_FILES` files (name, size, digest). Pending versions are
not listed.
"""

from __future__ import annotations

from typing import Any

from nbtrack.server.context import ServerContext, iso, loads

__all__ = ["MAX_FILES", "run_artifacts"]

MAX_FILES = 1000


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
    }


def run_artifacts(ctx: ServerContext, rid: int) -> dict[str, Any]:
    arts = ctx.storage.artifacts
    return {"logged": [_version(ctx, v) for v in arts.logged_by_run(rid)],
            "used": [_version(ctx, v) for v in arts.used_by_run(rid)]}

"""What W&B clients read about artifacts: versions, collections, memberships, types, files.

Plain dicts with W&B's field names (``projection.project`` keeps the selected ones); the run
and project views come from :mod:`..resolvers` through :class:`Views`, so this package never
imports it. Only committed versions are reached by name or alias; an id reaches a pending
one too (its own client asks for it while saving).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from nbtrack.server.context import ServerContext, iso
from nbtrack.server.storage.artifacts import PORTFOLIO
from nbtrack.server.wandb.artifacts import transfer
from nbtrack.server.wandb.artifacts.names import check_name, node_id, split_name, text_id
from nbtrack.server.wandb.graphql import GraphQLError
from nbtrack.server.wandb.projection import with_args

__all__ = ["MAX_PAGE", "Req", "Views", "artifact_view", "project_fields", "run_fields"]

MAX_PAGE = 10_000
Row = dict[str, Any]


class Req(Protocol):
    ctx: ServerContext
    base_url: str

    def entity_or_default(self, entity: Any) -> str: ...


@dataclass(frozen=True)
class Views:
    """The run and project views of :mod:`..resolvers` (W&B's ``Run`` and ``Project``)."""

    run: Callable[[Any, Row], Row]
    project: Callable[[Any, str, str], Row]


def _page_size(args: dict[str, Any], default: int = 50) -> int:
    n = args.get("first")
    n = default if n is None else n
    if not isinstance(n, int) or n < 0 or n > MAX_PAGE:
        raise GraphQLError(f"first must be between 0 and {MAX_PAGE}")
    return n


def _connection(nodes: list[Any], has_next: bool, cursor: str | None,
                total: int | None = None) -> Row:
    return {
        "totalCount": total if total is not None else len(nodes),
        "pageInfo": {"endCursor": cursor, "hasNextPage": has_next, "__typename": "PageInfo"},
        "edges": [{"node": n, "cursor": cursor, "__typename": "Edge"} for n in nodes],
        "__typename": "Connection",
    }


def _collection_kind(row: Row) -> str:
    return "ArtifactPortfolio" if row["kind"] == PORTFOLIO else "ArtifactSequence"


def file_view(req: Req, entity: str, f: Row) -> Row:
    url = None if f["ref"] else transfer.download_url(req.ctx, req.base_url, entity,
                                                      f["digest"])
    return {
        "id": text_id("File", str(f["version_id"]), f["name"]),
        "name": f["name"],
        "displayName": f["name"],
        "url": url,
        "directUrl": url,
        "sizeBytes": f["size"],
        "storagePath": None,
        "mimetype": None,
        "updatedAt": None,
        "digest": f["digest"],
        "md5": f["digest"],
        "__typename": "File",
    }


def files_connection(req: Req, version: Row) -> Callable[[dict[str, Any]], Row]:
    @with_args
    def files(args: dict[str, Any]) -> Row:
        names = args.get("names")
        if names is not None and (not isinstance(names, list) or len(names) > MAX_PAGE):
            raise GraphQLError(f"files: names must be a list of at most {MAX_PAGE} names")
        after = args.get("after")
        limit = _page_size(args, 50)
        arts = req.ctx.storage.artifacts
        rows = arts.files(int(version["id"]), names, after if isinstance(after, str) else None,
                          limit + 1)
        page = rows[:limit]
        return _connection([file_view(req, version["entity"], f) for f in page],
                           len(rows) > limit, page[-1]["name"] if page else after,
                           arts.file_count(int(version["id"]), names))

    return files


def collection_view(req: Req, views: Views, row: Row) -> Row:
    ctx, cid = req.ctx, int(row["id"])
    kind = _collection_kind(row)

    def project() -> Row:
        return views.project(req, row["entity"], row["project"])

    @with_args
    def membership(args: dict[str, Any]) -> Row | None:
        alias = args.get("aliasName") or "latest"
        if not isinstance(alias, str):
            raise GraphQLError("aliasName must be a string")
        version = ctx.storage.artifacts.resolve(cid, row["kind"], alias)
        return None if version is None else membership_view(req, views, row, version)

    def latest() -> Row | None:
        v = ctx.storage.artifacts.resolve(cid, row["kind"], "latest")
        return None if v is None else artifact_view(req, views, v)

    @with_args
    def artifacts(args: dict[str, Any]) -> Row:
        rows = ctx.storage.artifacts.versions(cid, row["kind"], _page_size(args, 50))
        return _connection([artifact_view(req, views, v) for v in rows], False, None)

    return {
        "id": node_id(kind, cid),
        "name": row["name"],
        "description": row["description"],
        "createdAt": iso(row["created_at"]),
        "project": project,
        "defaultArtifactType": {"name": row["type_name"], "__typename": "ArtifactType"},
        "artifactType": {"name": row["type_name"], "__typename": "ArtifactType"},
        "type": row["type_name"],
        "digestAlgorithm": "MANIFEST_MD5",
        "artifactMembership": membership,
        "latestArtifact": latest,
        "artifacts": artifacts,
        "tags": _connection([], False, None),
        "__typename": kind,
    }


def _aliases(req: Req, views: Views, version: Row, only: int | None = None) -> list[Row]:
    out = []
    for a in req.ctx.storage.artifacts.aliases(int(version["id"])):
        if only is not None and int(a["collection_id"]) != only:
            continue
        coll = {"name": a["collection_name"], "__typename": _collection_kind(a),
                "project": lambda a=a: views.project(req, a["entity"], a["project"])}
        out.append({"id": text_id("ArtifactAlias", str(a["collection_id"]), a["alias"]),
                    "alias": a["alias"], "artifactCollectionName": a["collection_name"],
                    "artifactCollection": coll, "__typename": "ArtifactAlias"})
    return out


def artifact_view(req: Req, views: Views, v: Row) -> Row:
    """One version as W&B's ``Artifact``."""
    ctx, vid, entity = req.ctx, int(v["id"]), str(v["entity"])
    arts = ctx.storage.artifacts

    def sequence() -> Row:
        row = arts.collection_by_id(int(v["collection_id"]))
        assert row is not None
        return collection_view(req, views, row)

    def manifest() -> Row | None:
        if v["manifest_digest"] is None:
            return None
        url = transfer.download_url(ctx, req.base_url, entity, v["manifest_digest"])
        return {"id": node_id("ArtifactManifest", vid), "type": "FULL",
                "file": {"id": node_id("File", vid), "directUrl": url, "url": url,
                         "__typename": "File"}, "__typename": "ArtifactManifest"}

    def created_by() -> Row | None:
        run = arts.run_of(int(v["run_rid"])) if v["run_rid"] is not None else None
        return None if run is None else views.run(req, run)

    def used_by() -> Row:
        runs = [r for r in (arts.run_of(rid) for rid in arts.users(vid)) if r is not None]
        return _connection([views.run(req, r) for r in runs], False, None)

    @with_args
    def by_entries(args: dict[str, Any]) -> Row:
        entries = args.get("entries") or []
        if not isinstance(entries, list) or len(entries) > MAX_PAGE:
            raise GraphQLError(f"entries: at most {MAX_PAGE}")
        nodes = [{"name": e.get("name"), "directUrl": transfer.download_url(
            ctx, req.base_url, entity, e.get("digest")), "__typename": "File"}
            for e in entries if isinstance(e, dict)]
        return _connection(nodes, False, None)

    return {
        "id": node_id("Artifact", vid),
        "state": v["state"],
        "digest": v["digest"],
        "digestAlgorithm": "MANIFEST_MD5",
        "commitHash": v["digest"][:20] if v["version_index"] is not None else None,
        "versionIndex": v["version_index"],
        "description": v["description"],
        "metadata": v["metadata"] or "{}",
        "ttlDurationSeconds": -1,
        "ttlIsInherited": True,
        "tags": [],
        "historyStep": v["history_step"],
        "size": v["size"],
        "fileCount": v["file_count"],
        "createdAt": iso(v["created_at"]),
        "updatedAt": iso(v["updated_at"]),
        "artifactType": {"name": v["type_name"], "id": node_id("ArtifactType", int(v["type_id"])),
                         "__typename": "ArtifactType"},
        "artifactSequence": sequence,
        "aliases": lambda: _aliases(req, views, v),
        "currentManifest": manifest,
        "createdBy": created_by,
        "usedBy": used_by,
        "files": files_connection(req, v),
        "filesByManifestEntries": by_entries,
        "__typename": "Artifact",
    }


def membership_view(req: Req, views: Views, coll: Row, v: Row) -> Row:
    """A version as a member of ``coll`` (its sequence, or a portfolio it is linked into)."""
    cid = int(coll["id"])
    index = v["version_index"]
    if coll["kind"] == PORTFOLIO:
        index = next((int(a["version_index"]) for a in req.ctx.storage.artifacts.links_of(
            int(v["id"])) if int(a["collection_id"]) == cid), index)
    return {
        "id": node_id("ArtifactCollectionMembership", int(v["id"])),
        "versionIndex": index,
        "createdAt": iso(v["created_at"]),
        "aliases": lambda: _aliases(req, views, v, only=cid),
        "artifactCollection": lambda: collection_view(req, views, coll),
        "artifact": lambda: artifact_view(req, views, v),
        "files": files_connection(req, v),
        "__typename": "ArtifactCollectionMembership",
    }


def _resolve(req: Req, entity: str, project: str, full: Any) -> tuple[Row, Row] | None:
    name, alias = split_name(full)
    coll = req.ctx.storage.artifacts.collection(entity, project, name)
    if coll is None:
        return None
    v = req.ctx.storage.artifacts.resolve(int(coll["id"]), coll["kind"], alias)
    return None if v is None else (coll, v)


def type_view(req: Req, views: Views, row: Row) -> Row:
    arts = req.ctx.storage.artifacts

    @with_args
    def collection(args: dict[str, Any]) -> Row | None:
        name = check_name("artifact name", args.get("name"))
        c = arts.collection(row["entity"], row["project"], name)
        if c is None or c["type_id"] != row["id"]:
            return None
        return collection_view(req, views, c)

    @with_args
    def collections(args: dict[str, Any]) -> Row:
        rows = arts.collections(int(row["id"]))[: _page_size(args, 50)]
        return _connection([collection_view(req, views, c) for c in rows], False, None)

    return {
        "id": node_id("ArtifactType", int(row["id"])),
        "name": row["name"],
        "description": None,
        "createdAt": iso(row["created_at"]),
        "artifactCollection": collection,
        "artifactSequence": collection,
        "artifactCollections": collections,
        "artifactSequences": collections,
        "__typename": "ArtifactType",
    }


def run_fields(req: Req, views: Views, run: Row) -> Row:
    """W&B's ``Run.outputArtifacts`` / ``inputArtifacts``: the committed versions the run
    logged and used, paged by offset (``after`` is the offset text)."""
    arts = req.ctx.storage.artifacts

    def paged(load: Callable[[int, int, int], list[Row]], which: int
              ) -> Callable[[dict[str, Any]], Row]:
        @with_args
        def connection(args: dict[str, Any]) -> Row:
            after = args.get("after")
            start = int(after) if isinstance(after, str) and after.isdigit() else 0
            size = _page_size(args, 50)
            rows = load(int(run["rid"]), start, size + 1)
            page, end = rows[:size], start + min(len(rows), size)
            return _connection([artifact_view(req, views, v) for v in page], len(rows) > size,
                               str(end), arts.run_counts(int(run["rid"]))[which])
        return connection

    return {"outputArtifacts": paged(arts.logged_by_run, 0),
            "inputArtifacts": paged(arts.used_by_run, 1)}


def project_fields(req: Req, views: Views, entity: str, project: str) -> Row:
    """The artifact fields of W&B's ``Project``: by name (``name:alias``) and by type."""
    arts = req.ctx.storage.artifacts

    @with_args
    def artifact(args: dict[str, Any]) -> Row | None:
        found = _resolve(req, entity, project, args.get("name"))
        return None if found is None else artifact_view(req, views, found[1])

    @with_args
    def membership(args: dict[str, Any]) -> Row | None:
        found = _resolve(req, entity, project, args.get("name"))
        return None if found is None else membership_view(req, views, *found)

    @with_args
    def collection(args: dict[str, Any]) -> Row | None:
        name = check_name("artifact name", args.get("name"))
        c = arts.collection(entity, project, name)
        return None if c is None else collection_view(req, views, c)

    @with_args
    def artifact_type(args: dict[str, Any]) -> Row | None:
        name = check_name("artifact type", args.get("name"))
        t = arts.type_named(entity, project, name)
        return None if t is None else type_view(req, views, t)

    @with_args
    def artifact_types(args: dict[str, Any]) -> Row:
        rows = arts.types(entity, project)[: _page_size(args, 50)]
        return _connection([type_view(req, views, t) for t in rows], False, None)

    return {
        "artifact": artifact,
        "artifactCollectionMembership": membership,
        "artifactCollection": collection,
        "artifactType": artifact_type,
        "artifactTypes": artifact_types,
    }


def metadata_text(value: Any) -> str | None:
    """A JSONString metadata input as stored text (an object only)."""
    if value is None:
        return None
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        raise GraphQLError("metadata must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise GraphQLError("metadata must be a JSON object")
    return json.dumps(parsed)

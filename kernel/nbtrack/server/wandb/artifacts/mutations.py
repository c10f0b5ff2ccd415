"""The artifact operations W&B clients send, as resolvers (``docs/artifacts.md``).

Saving, as wandb-core does it: ``createArtifact`` (a PENDING version, or the committed one
with the same digest) → ``createArtifactManifest`` → ``createArtifactFiles`` (an upload URL
per file the entity's store lacks; none for one it holds: the client skips it) → PUTs →
``createArtifactManifest`` again with the manifest's digest (its upload URL) → PUT of the
manifest → ``commitArtifact`` (the version number, ``latest`` and the aliases). Using:
``useArtifact`` records which run used which version. Aliases, links into portfolios and
description / metadata edits follow. Every input name is checked (:mod:`.names`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbtrack.server.context import DEFAULT_PROJECT
from nbtrack.server.storage import blobs
from nbtrack.server.storage.artifacts import COMMITTED, ArtifactConflict
from nbtrack.server.wandb.artifacts import transfer
from nbtrack.server.wandb.artifacts.names import artifact_id, check_alias, check_name, node_id
from nbtrack.server.wandb.artifacts.views import Req, Views, artifact_view, metadata_text
from nbtrack.server.wandb.graphql import GraphQLError

__all__ = ["resolvers"]

Row = dict[str, Any]
MAX_FILES_PER_CALL = 10_000
MAX_ALIASES = 100


def _input(args: dict[str, Any], op: str) -> Row:
    inp = args.get("input")
    if not isinstance(inp, dict):
        raise GraphQLError(f"{op} needs an input object")
    return inp


def _version(req: Req, value: Any, kind: str = "Artifact") -> Row:
    """The version an id names, when the caller may see its entity."""
    row = req.ctx.storage.artifacts.version(artifact_id(value, kind))
    if row is None:
        raise GraphQLError(f"artifact {value!r} not found")
    req.entity_or_default(row["entity"])  # another entity's: permission denied
    return row


def _run_rid(req: Req, entity: str, project: str, name: Any) -> int | None:
    if name is None or name == "":
        return None
    run = req.ctx.storage.get_run(entity, project, str(name))
    if run is None:
        raise GraphQLError(f"run {entity}/{project}/{name} not found")
    return int(run["rid"])


def _where(req: Req, inp: Row) -> tuple[str, str]:
    entity = req.entity_or_default(inp.get("entityName"))
    project = inp.get("projectName") or DEFAULT_PROJECT
    if project == blobs.BLOB_PROJECT:
        raise GraphQLError(f"invalid projectName {project!r}: it is reserved")
    return entity, check_name("projectName", project)


def _alias_names(value: Any) -> list[str]:
    """Alias names from ``[{artifactCollectionName, alias}]`` or ``[alias]``."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ALIASES:
        raise GraphQLError(f"aliases must be a list of at most {MAX_ALIASES}")
    out = []
    for a in value:
        name = a.get("alias") if isinstance(a, dict) else a
        out.append(check_alias(name))
    return list(dict.fromkeys(out))


def resolvers(views: Views) -> dict[str, Callable[[Any, dict[str, Any]], Any]]:
    """The artifact mutations and queries, keyed by GraphQL field name."""

    def view(req: Req, row: Row) -> Row:
        return artifact_view(req, views, row)

    def create_artifact(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "createArtifact")
        entity, project = _where(req, inp)
        name = check_name("artifactCollectionName", inp.get("artifactCollectionName"))
        type_name = check_name("artifactTypeName", inp.get("artifactTypeName"))
        digest = inp.get("digest")
        if not isinstance(digest, str) or not digest or len(digest) > 128:
            raise GraphQLError("createArtifact needs a digest")
        step = inp.get("historyStep")
        try:
            row, latest = req.ctx.storage.artifacts.create_version(
                entity, project, type_name, name, digest,
                run_rid=_run_rid(req, entity, project, inp.get("runName")),
                description=inp.get("description") if isinstance(inp.get("description"),
                                                                 str) else None,
                metadata=metadata_text(inp.get("metadata")),
                aliases=_alias_names(inp.get("aliases")),
                history_step=step if isinstance(step, int) else None,
                client_id=str(inp["clientID"]) if inp.get("clientID") else None)
        except ArtifactConflict as e:
            raise GraphQLError(str(e)) from None
        out = view(req, row)
        out["artifactSequence"] = {
            **out["artifactSequence"](),
            "latestArtifact": None if latest is None else {"id": node_id("Artifact", latest)},
        }
        return {"artifact": out, "__typename": "CreateArtifactPayload"}

    def manifest_payload(req: Req, row: Row) -> Row:
        kid = getattr(getattr(req, "principal", None), "key_id", None)
        url = transfer.manifest_url(req.ctx, req.base_url, row["entity"], int(row["id"]), kid)
        return {"artifactManifest": {
            "id": node_id("ArtifactManifest", int(row["id"])),
            "file": {"id": node_id("File", int(row["id"])), "uploadUrl": url,
                     "uploadHeaders": [], "__typename": "File"},
            "__typename": "ArtifactManifest"}, "__typename": "CreateArtifactManifestPayload"}

    def create_manifest(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "createArtifactManifest")
        row = _version(req, inp.get("artifactID"))
        if inp.get("type") not in (None, "FULL"):
            raise GraphQLError(f"manifest type {inp.get('type')!r} is not supported (FULL only)")
        return manifest_payload(req, row)

    def update_manifest(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "updateArtifactManifest")
        return manifest_payload(req, _version(req, inp.get("artifactManifestID"),
                                              "ArtifactManifest"))

    def create_files(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "createArtifactFiles")
        specs = inp.get("artifactFiles")
        if not isinstance(specs, list) or len(specs) > MAX_FILES_PER_CALL:
            raise GraphQLError(f"artifactFiles must be a list of at most {MAX_FILES_PER_CALL}")
        kid = getattr(getattr(req, "principal", None), "key_id", None)
        versions: dict[Any, Row] = {}
        for s in specs:
            if not isinstance(s, dict) or blobs.hex_digest(s.get("md5")) is None:
                raise GraphQLError(f"invalid artifact file {str(s)[:80]}: md5 must be base64")
            if s.get("artifactID") not in versions:
                versions[s.get("artifactID")] = _version(req, s.get("artifactID"))
        arts = req.ctx.storage.artifacts
        known: dict[str, set[str]] = {}
        for v in versions.values():
            e = str(v["entity"])
            if e not in known:
                known[e] = arts.known_blobs(e, [str(s["md5"]) for s in specs])
        edges = []
        for s in specs:
            v = versions[s.get("artifactID")]
            if v["state"] == COMMITTED:
                raise GraphQLError("the artifact is committed: no more files")
            e, hexd = str(v["entity"]), str(blobs.hex_digest(s["md5"]))
            url = None if s["md5"] in known[e] else transfer.upload_url(
                req.ctx, req.base_url, e, hexd, int(v["id"]), kid)
            edges.append({"node": {
                "name": s.get("name"), "storagePath": f"{e}/{hexd}", "uploadUrl": url,
                "uploadHeaders": [], "uploadMultipartUrls": None,
                "artifact": {"id": node_id("Artifact", int(v["id"]))}, "__typename": "File"}})
        return {"files": {"edges": edges}, "__typename": "CreateArtifactFilesPayload"}

    def commit(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "commitArtifact")
        row = _version(req, inp.get("artifactID"))
        try:
            done = req.ctx.storage.artifacts.commit(int(row["id"]))
        except ArtifactConflict as e:
            raise GraphQLError(str(e)) from None
        return {"artifact": view(req, done), "__typename": "CommitArtifactPayload"}

    def use(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "useArtifact")
        row = _version(req, inp.get("artifactID"))
        entity, project = _where(req, inp)
        rid = _run_rid(req, entity, project, inp.get("runName"))
        if rid is None:
            raise GraphQLError("useArtifact needs runName")
        req.ctx.storage.artifacts.use(int(row["id"]), rid)
        return {"artifact": view(req, row), "__typename": "UseArtifactPayload"}

    def _collection_of(req: Req, row: Row, inp: Row) -> int:
        """The collection an alias edit is about: the one its aliases name (in their
        entity and project: a portfolio it is linked into), else the version's sequence."""
        arts = req.ctx.storage.artifacts
        where = {(a.get("entityName") or row["entity"], a.get("projectName") or row["project"],
                  a.get("artifactCollectionName"))
                 for a in inp.get("aliases") or [] if isinstance(a, dict)}
        where = {w for w in where if w[2]}
        if len(where) > 1:
            raise GraphQLError("aliases name more than one collection")
        if not where:
            return int(row["collection_id"])
        entity, project, name = where.pop()
        c = arts.collection(req.entity_or_default(entity), str(project),
                            check_name("artifactCollectionName", name))
        if c is None:
            raise GraphQLError(f"artifact collection {name!r} not found")
        if int(c["id"]) != int(row["collection_id"]) and not any(
                int(link["collection_id"]) == int(c["id"]) for link in arts.links_of(
                    int(row["id"]))):
            raise GraphQLError(f"the artifact is not in the collection {name!r}")
        return int(c["id"])

    def alias_edit(add: bool) -> Callable[[Req, dict[str, Any]], Row]:
        def edit(req: Req, args: dict[str, Any]) -> Row:
            inp = _input(args, "addAliases" if add else "deleteAliases")
            row = _version(req, inp.get("artifactID"))
            if row["state"] != COMMITTED:
                raise GraphQLError("the artifact is not committed yet")
            cid, aliases = _collection_of(req, row, inp), _alias_names(inp.get("aliases"))
            arts = req.ctx.storage.artifacts
            (arts.add_aliases if add else arts.delete_aliases)(int(row["id"]), cid, aliases)
            return {"success": True, "__typename": "AliasesPayload"}
        return edit

    def link(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "linkArtifact")
        entity, project = _where(req, inp)
        if inp.get("artifactID"):
            row = _version(req, inp.get("artifactID"))
        else:
            found = req.ctx.storage.artifacts.version_by_client_id(str(inp.get("clientID")))
            if found is None:
                raise GraphQLError(f"artifact with client id {inp.get('clientID')!r} not found")
            row = _version(req, node_id("Artifact", int(found["id"])))
        if row["state"] != COMMITTED:
            raise GraphQLError("the artifact is not committed yet")
        name = check_name("artifactPortfolioName", inp.get("artifactPortfolioName"))
        try:
            index = req.ctx.storage.artifacts.link(
                int(row["id"]), entity, project, name, str(row["type_name"]),
                _alias_names(inp.get("aliases")))
        except ArtifactConflict as e:
            raise GraphQLError(str(e)) from None
        return {"versionIndex": index, "artifactMembership": None,
                "__typename": "LinkArtifactPayload"}

    def update(req: Req, args: dict[str, Any]) -> Row:
        inp = _input(args, "updateArtifact")
        row = _version(req, inp.get("artifactID"))
        desc = inp.get("description")
        arts = req.ctx.storage.artifacts
        arts.update_version(int(row["id"]), desc if isinstance(desc, str) else None,
                            metadata_text(inp.get("metadata")))
        if inp.get("aliases") is not None:  # the sequence's aliases of it, replaced
            if row["state"] != COMMITTED:
                raise GraphQLError("the artifact is not committed yet")
            cid, wanted = int(row["collection_id"]), _alias_names(inp.get("aliases"))
            have = [a["alias"] for a in arts.aliases(int(row["id"]))
                    if int(a["collection_id"]) == cid]
            arts.delete_aliases(int(row["id"]), cid, [a for a in have if a not in wanted])
            arts.add_aliases(int(row["id"]), cid, wanted)
        again = req.ctx.storage.artifacts.version(int(row["id"]))
        assert again is not None
        return {"artifact": view(req, again), "__typename": "UpdateArtifactPayload"}

    def by_id(req: Req, args: dict[str, Any]) -> Row | None:
        try:
            row = _version(req, args.get("id"))
        except GraphQLError as e:
            if "not found" in str(e):
                return None
            raise
        return view(req, row)

    def client_id_mapping(req: Req, args: dict[str, Any]) -> Row | None:
        row = req.ctx.storage.artifacts.version_by_client_id(str(args.get("clientID")))
        if row is None:
            return None
        req.entity_or_default(row["entity"])
        return {"serverID": node_id("Artifact", int(row["id"]))}

    def multipart(req: Req, args: dict[str, Any]) -> Row:
        raise GraphQLError("multipart artifact uploads are not supported: files are PUT whole")

    return {
        "createArtifact": create_artifact,
        "createArtifactManifest": create_manifest,
        "updateArtifactManifest": update_manifest,
        "createArtifactFiles": create_files,
        "commitArtifact": commit,
        "useArtifact": use,
        "addAliases": alias_edit(True),
        "deleteAliases": alias_edit(False),
        "linkArtifact": link,
        "updateArtifact": update,
        "artifact": by_id,
        "clientIDMapping": client_id_mapping,
        "completeMultipartUploadArtifact": multipart,
    }

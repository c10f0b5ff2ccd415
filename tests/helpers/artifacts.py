"""W&B's artifact save, step by step over HTTP, as wandb-core sends it (its GraphQL texts).

For server tests that need to stop half-way, break a step or race many saves: the
official client itself is driven in ``tests/compat/test_wandb_artifacts.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import requests

from helpers.server import RunningServer

CREATE = """
mutation CreateArtifact ($input: CreateArtifactInput!) {
  createArtifact(input: $input) { ... CreatedArtifact }
}
fragment CreatedArtifact on CreateArtifactPayload {
  artifact { id state artifactSequence { latestArtifact { id } } }
}
"""
MANIFEST = """
mutation CreateArtifactManifest ($artifactID: ID!, $baseArtifactID: ID, $name: String!,
    $digest: String!, $entityName: String!, $projectName: String!, $runName: String!,
    $manifestType: ArtifactManifestType!, $includeUpload: Boolean!) {
  createArtifactManifest(input: {artifactID:$artifactID, baseArtifactID:$baseArtifactID,
      name:$name, digest:$digest, entityName:$entityName, projectName:$projectName,
      runName:$runName, type:$manifestType}) {
    artifactManifest { id file { id uploadUrl @include(if: $includeUpload)
                                 uploadHeaders @include(if: $includeUpload) } }
  }
}
"""
FILES = """
mutation CreateArtifactFiles ($input: CreateArtifactFilesInput!) {
  createArtifactFiles(input: $input) {
    files { edges { node { storagePath uploadUrl uploadHeaders
      uploadMultipartUrls { uploadID uploadUrlParts { partNumber uploadUrl } }
      artifact { id } } } }
  }
}
"""
COMMIT = """
mutation CommitArtifact ($artifactID: ID!) {
  commitArtifact(input: {artifactID:$artifactID}) { artifact { id digest } }
}
"""
BY_NAME = """
query ($entity: String!, $project: String!, $name: String!) {
  project(name: $project, entityName: $entity) {
    artifact(name: $name) { id versionIndex state aliases { alias } }
    artifactCollectionMembership(name: $name) { versionIndex }
  }
}
"""


def gql(server: RunningServer, query: str, variables: dict[str, Any] | None = None,
        key: str | None = None) -> dict[str, Any]:
    """POST GraphQL with ``key`` (default: the server's admin token); the whole answer,
    also for a 403 (permission denied)."""
    r = requests.post(f"{server.url}/graphql", json={"query": query, "variables": variables or {}},
                      auth=("api", key or server.token), timeout=10)
    assert r.status_code in (200, 403), (r.status_code, r.text)
    return dict(r.json())


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def entity_of(server: RunningServer, key: str | None = None) -> str:
    return str(gql(server, "{ viewer { entity } }", key=key)["data"]["viewer"]["entity"])


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer
    return dict(answer["data"])


@dataclass
class Save:
    """One artifact save in progress (``create`` → ``files`` → ``upload`` → ``manifest`` →
    ``commit``), each step callable on its own."""

    server: RunningServer
    project: str
    run: str
    name: str
    files: dict[str, bytes]
    aliases: list[str] = field(default_factory=lambda: ["latest"])
    key: str | None = None  # the API key saving it (None: the server's admin token)
    entity: str = ""
    id: str = ""
    manifest_id: str = ""
    urls: dict[str, str | None] = field(default_factory=dict)

    def _gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return gql(self.server, query, variables, key=self.key)

    @property
    def digest(self) -> str:
        """The artifact's digest: here simply the MD5 of its sorted (name, digest) pairs."""
        text = "\n".join(f"{n}:{md5_b64(b)}" for n, b in sorted(self.files.items()))
        return hashlib.md5(text.encode()).hexdigest()

    def create(self, **extra: Any) -> dict[str, Any]:
        self.entity = self.entity or entity_of(self.server, self.key)
        inp = {"entityName": self.entity, "projectName": self.project,
               "artifactTypeName": "dataset", "artifactCollectionName": self.name,
               "runName": self.run, "digest": self.digest, "digestAlgorithm": "MANIFEST_MD5",
               "aliases": [{"artifactCollectionName": self.name, "alias": a}
                           for a in self.aliases],
               "enableDigestDeduplication": True, "clientID": f"c-{self.name}-{self.digest}",
               **extra}
        out = self._gql(CREATE, {"input": inp})
        if "errors" in out:
            return out
        art = out["data"]["createArtifact"]["artifact"]
        self.id = art["id"]
        return dict(art)

    def manifest_upload(self, digest: str = "", include: bool = False) -> dict[str, Any]:
        out = ok(self._gql(MANIFEST, {
            "artifactID": self.id, "baseArtifactID": None, "name": "wandb_manifest.json",
            "digest": digest, "entityName": self.entity, "projectName": self.project,
            "runName": self.run, "manifestType": "FULL", "includeUpload": include}))
        m = out["createArtifactManifest"]["artifactManifest"]
        self.manifest_id = m["id"]
        return dict(m)

    def ask_files(self) -> dict[str, str | None]:
        specs = [{"artifactID": self.id, "name": n, "md5": md5_b64(b),
                  "artifactManifestID": self.manifest_id} for n, b in self.files.items()]
        out = ok(self._gql(FILES, {"input": {"artifactFiles": specs,
                                                    "storageLayout": "V2"}}))
        edges = out["createArtifactFiles"]["files"]["edges"]
        assert len(edges) == len(specs)
        self.urls = {s["name"]: e["node"]["uploadUrl"] for s, e in zip(specs, edges, strict=True)}
        return self.urls

    def upload(self) -> None:
        for name, url in self.urls.items():
            if url is not None:
                r = requests.put(url, data=self.files[name], timeout=10)
                assert r.status_code == 200, (name, r.status_code, r.text)

    def manifest_bytes(self) -> bytes:
        contents = {n: {"digest": md5_b64(b), "size": len(b)} for n, b in self.files.items()}
        return json.dumps({"version": 1, "storagePolicy": "wandb-storage-policy-v1",
                           "storagePolicyConfig": {"storageLayout": "V2"},
                           "contents": contents}).encode()

    def put_manifest(self) -> requests.Response:
        body = self.manifest_bytes()
        m = self.manifest_upload(md5_b64(body), include=True)
        return requests.put(m["file"]["uploadUrl"], data=body, timeout=10)

    def commit(self) -> dict[str, Any]:
        return self._gql(COMMIT, {"artifactID": self.id})

    def all(self) -> dict[str, Any]:
        """Every step; the ``createArtifact`` answer (a dedup answers COMMITTED and stops)."""
        art = self.create()
        assert "errors" not in art, art
        if art["state"] == "COMMITTED":
            return art
        self.manifest_upload()
        self.ask_files()
        self.upload()
        assert self.put_manifest().status_code == 200
        ok(self.commit())
        return art


def by_name(server: RunningServer, project: str, name: str) -> dict[str, Any]:
    """``project.artifact(name:)`` and ``artifactCollectionMembership(name:)`` of ``name``."""
    return ok(gql(server, BY_NAME, {"entity": entity_of(server), "project": project,
                                    "name": name}))["project"]

"""Artifacts between accounts: another entity's versions, files and aliases are neither
readable nor writable, and a body held for one entity is never offered to another."""

from __future__ import annotations

import requests

from .test_isolation import UPSERT, Team, team  # noqa: F401  (the fixture)
from helpers.artifacts import Save, gql, md5_b64

BY_NAME = """query ($e: String!) { project(name: "p", entityName: $e) {
  artifact(name: "ds:latest") { id } } }"""
BY_ID = "query ($id: ID!) { artifact(id: $id) { id state } }"
FILES = """mutation ($input: CreateArtifactFilesInput!) { createArtifactFiles(input: $input) {
  files { edges { node { uploadUrl } } } } }"""
USE = """mutation ($id: ID!) { useArtifact(input: {artifactID: $id, entityName: "bob",
  projectName: "p", runName: "b1"}) { artifact { id } } }"""
ALIAS = """mutation ($id: ID!) { addAliases(input: {artifactID: $id, aliases: [
  {alias: "mine", artifactCollectionName: "ds", entityName: "alice", projectName: "p"}]}) {
  success } }"""
FILE_URLS = """query ($e: String!) { project(name: "p", entityName: $e) {
  artifactCollection(name: "ds") { artifactMembership(aliasName: "latest") {
    files { edges { node { directUrl } } } } } } }"""


def _denied(answer: dict[str, object]) -> bool:
    errors = answer.get("errors") or []
    return any((e.get("extensions") or {}).get("code") == "PERMISSION_DENIED"
               for e in errors if isinstance(e, dict))


def test_another_entitys_artifacts_are_out_of_reach(team: Team) -> None:  # noqa: F811
    for who, run in (("alice", "a1"), ("bob", "b1")):
        assert team.post(who, UPSERT, name=run).status_code == 200
    body = b"alice's data"
    mine = Save(team.server, "p", "a1", "ds", {"d.txt": body}, key=team.keys["alice"])
    mine.all()
    assert mine.entity == "alice"
    bob = team.keys["bob"]
    srv = team.server
    assert _denied(gql(srv, BY_NAME, {"e": "alice"}, key=bob))
    assert _denied(gql(srv, BY_ID, {"id": mine.id}, key=bob))
    assert _denied(gql(srv, USE, {"id": mine.id}, key=bob))
    assert _denied(gql(srv, ALIAS, {"id": mine.id}, key=bob))
    spec = {"artifactID": mine.id, "name": "x.txt", "md5": md5_b64(b"x")}
    assert _denied(gql(srv, FILES, {"input": {"artifactFiles": [spec]}}, key=bob))
    theirs = Save(srv, "p", "b1", "ds", {"d.txt": b"x"}, key=bob, entity="alice")
    assert _denied(theirs.create())

    url = gql(srv, FILE_URLS, {"e": "alice"}, key=team.keys["alice"])["data"]["project"][
        "artifactCollection"]["artifactMembership"]["files"]["edges"][0]["node"]["directUrl"]
    bare = url.split("?")[0]
    assert requests.get(bare, auth=("api", bob), timeout=10).status_code == 403
    assert requests.get(bare, auth=("api", team.keys["alice"]), timeout=10).content == body

    # the same bytes in bob's entity: asked for (never deduplicated against alice's)
    same = Save(srv, "p", "b1", "ds", {"d.txt": body}, key=bob)
    same.create()
    same.manifest_upload()
    assert same.entity == "bob" and same.ask_files()["d.txt"] is not None

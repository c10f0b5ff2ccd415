"""Artifact bodies in an S3 store (moto) with PostgreSQL: checked against their digest
before they become visible, stored once by digest, served byte-exact, and one replica
continuing what another began (the state is the database's and the store's)."""

from __future__ import annotations

from pathlib import Path

import requests

from helpers.artifacts import Save, by_name, md5_b64, ok
from helpers.postgres import PostgresCluster
from helpers.s3 import S3, s3_server  # noqa: F401  (fixture)
from helpers.server import gql, start_server, upsert


def test_artifact_bodies_in_s3_are_checked_and_shared(
        s3_server: S3, postgres_cluster: PostgresCluster, tmp_path: Path) -> None:  # noqa: F811
    bucket = s3_server.bucket("arts")
    db = postgres_cluster.create_database()
    srv = start_server(tmp_path / "srv", db=db, files=f"{bucket}/pre")
    other = start_server(tmp_path / "other", db=db, files=f"{bucket}/pre")
    try:
        upsert(srv, "r1", "p")
        body = bytes(range(256)) * 64
        s = Save(srv, "p", "r1", "ds", {"a.bin": body, "b.txt": b"beta"})
        s.create()
        s.manifest_upload()
        urls = s.ask_files()
        assert all(u is not None and u.startswith(srv.url) for u in urls.values())
        bad = requests.put(str(urls["a.bin"]), data=b"x" * len(body), timeout=10)
        assert bad.status_code == 400 and "digest mismatch" in bad.json()["error"]
        keys = [o["Key"] for o in s3_server.client().list_objects_v2(
            Bucket="arts").get("Contents", [])]
        assert keys == []  # the refused body left nothing behind
        s.upload()
        assert s.put_manifest().status_code == 200
        ok(s.commit())
        keys = [o["Key"] for o in s3_server.client().list_objects_v2(
            Bucket="arts")["Contents"]]
        assert len(keys) == 3 and all(k.startswith(f"pre/{s.entity}/.artifacts/") for k in keys)
        s2 = Save(other, "p", "r1", "ds", {"a.bin": body, "b.txt": b"beta 2"})  # a replica
        s2.create()
        s2.manifest_upload()
        assert [n for n, u in s2.ask_files().items() if u is not None] == ["b.txt"]
        q = """query ($e: String!) { project(name: "p", entityName: $e) {
          artifactCollection(name: "ds") { artifactMembership(aliasName: "v0") {
            files { edges { node { name directUrl md5 } } } } } } }"""
        edges = ok(gql(other, q, {"e": s.entity}))["project"]["artifactCollection"][
            "artifactMembership"]["files"]["edges"]
        got = {e["node"]["name"]: requests.get(e["node"]["directUrl"], timeout=10).content
               for e in edges}
        assert got == {"a.bin": body, "b.txt": b"beta"}
        assert {e["node"]["md5"] for e in edges} == {md5_b64(body), md5_b64(b"beta")}
        assert all(e["node"]["directUrl"].startswith(other.url) for e in edges)
        assert by_name(other, "p", "ds:latest")["artifact"]["versionIndex"] == 0
        s2.upload()
        assert s2.put_manifest().status_code == 200
        ok(s2.commit())
        assert by_name(srv, "p", "ds:latest")["artifact"]["versionIndex"] == 1
    finally:
        srv.stop()
        other.stop()

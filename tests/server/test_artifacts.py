"""Artifacts over W&B's protocol, step by step (``docs/artifacts.md``), on SQLite and PostgreSQL:
nothing pending is visible, bodies are checked against their digest and stored once, paths
cannot escape, bad names are refused, concurrent commits get distinct versions."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from helpers.artifacts import Save, by_name, entity_of, md5_b64, ok
from helpers.server import RunningServer, api, gql, start_server, upsert


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server per backend for the module (each test in a project of its own)."""
    options = {}
    if request.param == "postgres":
        options["db"] = request.getfixturevalue("postgres_cluster").create_database()
    srv = start_server(tmp_path_factory.mktemp(f"artifacts-{request.param}"), **options)
    yield srv
    srv.stop()


@pytest.fixture
def project(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:100]


def _save(server: RunningServer, project: str, name: str, files: dict[str, bytes],
          run: str = "r1", **kw: object) -> Save:
    upsert(server, run, project)
    return Save(server, project, run, name, files, **kw)  # type: ignore[arg-type]


def test_a_pending_version_is_invisible_until_committed(live_server: RunningServer,
                                                       project: str) -> None:
    s = _save(live_server, project, "ds", {"a.txt": b"alpha", "b/c.bin": bytes(range(256))},
              aliases=["latest", "best"])
    assert s.create()["state"] == "PENDING"
    s.manifest_upload()
    assert set(s.ask_files()) == {"a.txt", "b/c.bin"}
    s.upload()
    assert s.put_manifest().status_code == 200
    for name in ("ds:latest", "ds:v0", "ds:best", "ds"):
        got = by_name(live_server, project, name)
        assert got == {"artifact": None, "artifactCollectionMembership": None}, name
    ok(s.commit())
    got = by_name(live_server, project, "ds:best")
    assert got["artifact"]["versionIndex"] == 0 and got["artifact"]["state"] == "COMMITTED"
    assert sorted(a["alias"] for a in got["artifact"]["aliases"]) == ["best", "latest"]
    assert by_name(live_server, project, "ds:v0")["artifact"]["id"] == s.id
    assert by_name(live_server, project, "ds:v1")["artifact"] is None


def test_a_commit_without_its_files_is_refused(live_server: RunningServer, project: str) -> None:
    alpha = f"alpha of {project}".encode()  # not held yet (the module's tests share a store)
    s = _save(live_server, project, "ds", {"a.txt": alpha, "b.txt": b"beta " + alpha})
    s.create()
    s.manifest_upload()
    urls = s.ask_files()
    assert requests.put(urls["a.txt"], data=alpha, timeout=10).status_code == 200
    assert s.put_manifest().status_code == 200
    out = s.commit()
    assert "files never uploaded: 'b.txt'" in out["errors"][0]["message"]
    assert by_name(live_server, project, "ds:latest")["artifact"] is None


def test_a_body_that_is_not_its_digest_is_refused(live_server: RunningServer, project: str) -> None:
    s = _save(live_server, project, "ds", {"a.txt": b"the real content"})
    s.create()
    s.manifest_upload()
    url = s.ask_files()["a.txt"]
    assert url is not None
    bad = requests.put(url, data=b"something else!!", timeout=10)
    assert bad.status_code == 400 and "digest mismatch" in bad.json()["error"]
    assert s.ask_files()["a.txt"] is not None  # still not held: asked for again
    good = requests.put(url, data=b"the real content", timeout=10)
    assert good.status_code == 200
    assert s.ask_files()["a.txt"] is None  # held now: no upload URL
    assert s.put_manifest().status_code == 200
    ok(s.commit())
    files = api(live_server, f"runs/{s.entity}/{project}/r1/artifacts").json()["logged"][0]
    assert files["received_bytes"] == len(b"the real content")


def test_versions_share_unchanged_files(live_server: RunningServer, project: str) -> None:
    files = {f"f{i}.txt": f"file {i}\n".encode() * 20 for i in range(10)}
    v0 = _save(live_server, project, "ds", dict(files))
    v0.all()
    total0 = sum(len(b) for b in files.values())
    files["f3.txt"] = b"changed"
    v1 = _save(live_server, project, "ds", dict(files))
    v1.create()
    v1.manifest_upload()
    urls = v1.ask_files()
    assert [n for n, u in urls.items() if u is not None] == ["f3.txt"]
    v1.upload()
    assert v1.put_manifest().status_code == 200
    ok(v1.commit())
    logged = api(live_server, f"runs/{v0.entity}/{project}/r1/artifacts").json()["logged"]
    assert [(a["name"], a["received_bytes"]) for a in logged] == [
        ("ds:v0", total0), ("ds:v1", len(b"changed"))]
    assert logged[1]["aliases"] == ["latest"] and logged[0]["aliases"] == []
    again = _save(live_server, project, "ds", dict(files))  # the same content: deduplicated
    assert again.create()["state"] == "COMMITTED" and again.id == v1.id


def test_artifact_upload_paths_cannot_escape(live_server: RunningServer, project: str) -> None:
    alpha = f"alpha of {project}".encode()  # not held yet (the module's tests share a store)
    s = _save(live_server, project, "ds", {"a.txt": alpha})
    s.create()
    s.manifest_upload()
    url = s.ask_files()["a.txt"]
    assert url is not None
    path, _, query = url.partition("?")
    hexd = path.rsplit("/", 1)[1]
    base = live_server.url + "/artifact-storage/"
    for bad in (f"{base}..%2F..%2Fx/blobs/{hexd}", f"{base}{s.entity}/blobs/..%2F..%2Fpasswd",
                f"{base}{s.entity}/blobs/{hexd}/extra", f"{base}{s.entity}/other/{hexd}"):
        r = requests.put(f"{bad}?{query}", data=alpha, timeout=10)
        assert r.status_code in (400, 403), (bad, r.status_code)
    other = hexd[:-1] + ("0" if hexd[-1] != "0" else "1")  # the signature covers the digest
    assert requests.put(f"{path[:-32]}{other}?{query}", data=b"x", timeout=10).status_code == 403
    tampered = query.replace("sig=", "sig=0")
    assert requests.put(f"{path}?{tampered}", data=alpha, timeout=10).status_code == 403
    bad_manifest = _save(live_server, project, "ds2", {"../escape.txt": b"x"})
    bad_manifest.create()
    r = bad_manifest.put_manifest()
    assert r.status_code == 400 and "invalid file path" in r.json()["error"]
    files_dir = live_server.dir / "server" / "files"
    assert not any(p.name in ("passwd", "escape.txt", "x") for p in files_dir.rglob("*"))


@pytest.mark.parametrize(("field", "value", "why"), [
    ("artifactCollectionName", "a/b", "'/'"),
    ("artifactCollectionName", "..", "'..'"),
    ("artifactCollectionName", "a:b", "':'"),
    ("artifactTypeName", "da\nta", "control character"),
    ("projectName", ".artifacts", "reserved"),
])
def test_bad_names_are_refused(live_server: RunningServer, project: str, field: str, value: str,
                               why: str) -> None:
    s = _save(live_server, project, "ds", {"a.txt": b"alpha"})
    out = s.create(**{field: value})
    msg = out["errors"][0]["message"]
    assert f"invalid {field}" in msg and why in msg, msg


@pytest.mark.parametrize("alias", ["v3", "a/b", ""])
def test_bad_aliases_are_refused(live_server: RunningServer, project: str, alias: str) -> None:
    s = _save(live_server, project, "ds", {"a.txt": b"alpha"}, aliases=[alias])
    assert "invalid alias" in s.create()["errors"][0]["message"]


def test_a_name_with_another_type_is_refused(live_server: RunningServer, project: str) -> None:
    _save(live_server, project, "ds", {"a.txt": b"alpha"}).all()
    out = _save(live_server, project, "ds", {"a.txt": b"beta"}).create(artifactTypeName="model")
    assert "already exists" in out["errors"][0]["message"]


def test_concurrent_commits_get_distinct_versions(live_server: RunningServer, project: str) -> None:
    n = 8
    saves = [_save(live_server, project, "race", {"who.txt": f"racer {i}".encode()}, run=f"r{i}")
             for i in range(n)]
    entity = entity_of(live_server)
    for s in saves:  # everything but the commit, so the commits meet
        s.entity = entity
        s.create()
        s.manifest_upload()
        s.ask_files()
        s.upload()
        assert s.put_manifest().status_code == 200
    gate = threading.Barrier(n)
    answers: list[dict[str, object]] = []

    def commit(s: Save) -> None:
        gate.wait()
        answers.append(s.commit())

    threads = [threading.Thread(target=commit, args=(s,)) for s in saves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == n and all("errors" not in a for a in answers), answers
    got = {by_name(live_server, project, f"race:v{i}")["artifact"]["id"] for i in range(n)}
    assert got == {s.id for s in saves}  # v0 … v7, one each
    latest = by_name(live_server, project, "race:latest")["artifact"]
    assert latest["versionIndex"] == n - 1


def test_downloads_need_a_signature_or_a_key(live_server: RunningServer, project: str) -> None:
    s = _save(live_server, project, "ds", {"a.txt": b"alpha"})
    s.all()
    q = """query ($e: String!, $p: String!) { project(name: $p, entityName: $e) {
      artifactCollection(name: "ds") { artifactMembership(aliasName: "latest") {
        files { edges { node { name directUrl sizeBytes md5 } } } } } } }"""
    node = ok(gql(live_server, q, {"e": s.entity, "p": project}))["project"][
        "artifactCollection"]["artifactMembership"]["files"]["edges"][0]["node"]
    assert node["md5"] == md5_b64(b"alpha") and node["sizeBytes"] == 5
    assert requests.get(node["directUrl"], timeout=10).content == b"alpha"
    bare = node["directUrl"].split("?")[0]
    assert requests.get(bare, timeout=10).status_code == 403
    assert requests.get(bare, auth=("api", live_server.token), timeout=10).content == b"alpha"
    parts = urllib.parse.urlsplit(node["directUrl"])
    forged = parts.path[:-1] + ("0" if parts.path[-1] != "0" else "1") + "?" + parts.query
    assert requests.get(live_server.url + forged, timeout=10).status_code == 403


def test_artifact_uploads_are_bounded_like_run_files(server_factory: Any) -> None:
    srv = server_factory(max_upload_bytes=1000)
    s = _save(srv, "p", "ds", {"big.bin": b"x" * 1001, "small.txt": b"ok"})
    s.create()
    s.manifest_upload()
    urls = s.ask_files()
    r = requests.put(str(urls["big.bin"]), data=b"x" * 1001, timeout=10)
    assert r.status_code == 413
    assert s.ask_files()["big.bin"] is not None  # not held


def test_a_bad_upload_never_replaces_a_held_body(live_server: RunningServer, project: str) -> None:
    s = _save(live_server, project, "ds", {"a.txt": b"good", "empty.txt": b""})
    s.create()
    s.manifest_upload()
    urls = s.ask_files()
    s.upload()  # both held now
    for wrong in (b"evil", b""):  # the same length, and an empty body (nothing to read)
        r = requests.put(str(urls["a.txt"]), data=wrong, timeout=10)
        assert r.status_code == 400 and "digest mismatch" in r.json()["error"], wrong
    assert s.put_manifest().status_code == 200
    ok(s.commit())
    q = """query ($e: String!, $p: String!) { project(name: $p, entityName: $e) {
      artifact(name: "ds:v0") { files { edges { node { name directUrl } } } } } }"""
    edges = ok(gql(live_server, q, {"e": s.entity, "p": project}))["project"]["artifact"][
        "files"]["edges"]
    got = {e["node"]["name"]: requests.get(e["node"]["directUrl"], timeout=10).content
           for e in edges}
    assert got == {"a.txt": b"good", "empty.txt": b""}


def test_references_need_no_body(live_server: RunningServer, project: str) -> None:
    s = _save(live_server, project, "refs", {"a.txt": b"alpha"})
    s.create()
    s.manifest_upload()
    s.ask_files()
    s.upload()
    contents = {"a.txt": {"digest": md5_b64(b"alpha"), "size": 5},
                "remote.csv": {"digest": "etag-123", "size": 99,
                               "ref": "s3://bucket/remote.csv"}}
    body = json.dumps({"version": 1, "contents": contents}).encode()
    m = s.manifest_upload(md5_b64(body), include=True)
    assert requests.put(m["file"]["uploadUrl"], data=body, timeout=10).status_code == 200
    ok(s.commit())
    q = """query ($e: String!, $p: String!) { project(name: $p, entityName: $e) {
      artifact(name: "refs:v0") { size fileCount
        files { edges { node { name directUrl } } } } } }"""
    art = ok(gql(live_server, q, {"e": s.entity, "p": project}))["project"]["artifact"]
    assert (art["size"], art["fileCount"]) == (104, 2)
    urls = {e["node"]["name"]: e["node"]["directUrl"] for e in art["files"]["edges"]}
    assert urls["remote.csv"] is None and urls["a.txt"] is not None

"""Two team-server replicas on one PostgreSQL and one S3 store answer every request alike.

Real parts only: a private PostgreSQL cluster (restarted by the last test), moto's S3 API
over HTTP, two ``nbtrack server`` processes. Replica A trusts 127.0.0.1 as a proxy, B
trusts no one, so the same forwarded headers show both behaviours.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import psycopg
import pytest
import requests

from nbtrack.server import auth
from nbtrack.server.http import proxies
from nbtrack.server.storage.s3 import S3FileStore
from nbtrack.server.storage.secrets import CACHE_SECONDS
from nbtrack.server.storage.url import open_storage

from helpers.postgres import PostgresCluster
from helpers.s3 import S3, s3_server  # noqa: F401  (fixture)
from helpers.server import RunningServer, start_server

UPSERT = """mutation($name: String) {
  upsertBucket(input: {name: $name, modelName: "p", entityName: "alice"}) {
    bucket { name } } }"""
FILES = """mutation($name: String!, $files: [String]!) {
  createRunFiles(input: {entityName: "alice", projectName: "p", runName: $name,
                         files: $files}) { files { name uploadUrl } } }"""
VIEWER = "query { viewer { entity } }"


@dataclass
class Pair:
    a: RunningServer
    b: RunningServer
    db: str
    key: str
    cluster: PostgresCluster
    bucket: str

    def post(self, srv: RunningServer, query: str, headers: dict[str, str] | None = None,
             **variables: object) -> requests.Response:
        return requests.post(f"{srv.url}/graphql", json={"query": query, "variables": variables},
                             auth=("api", self.key), headers=headers, timeout=30)

    def upload_url(self, srv: RunningServer, run: str, name: str) -> str:
        r = self.post(srv, FILES, name=run, files=[name])
        assert r.status_code == 200, r.text
        return str(r.json()["data"]["createRunFiles"]["files"][0]["uploadUrl"])


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbtrack.server", "--db", db, *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def pair(s3_server: S3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:  # noqa: F811
    cluster = PostgresCluster()  # private: the last test restarts it
    cluster.start()
    try:
        db = cluster.create_database()
        storage = open_storage(db, pool_size=2)
        try:
            auth.add_user(storage, "alice", [])
            key = auth.create_key(storage, "alice")[1]
        finally:
            storage.close()
        files = s3_server.bucket("runs") + "/team"
        base = tmp_path_factory.mktemp("replicas")
        # uploads through the replicas (direct uploads: test_direct_uploads.py)
        a = start_server(base / "a", db=db, files=files, trusted_proxies="127.0.0.1/32",
                         state_file=base / "a.json", timeout=30, uploads="proxy")
        b = start_server(base / "b", db=db, files=files, state_file=base / "b.json", timeout=30,
                         uploads="proxy")
        try:
            yield Pair(a, b, db, key, cluster, "runs")
        finally:
            a.stop()
            b.stop()
    finally:
        cluster.stop()


def test_s3_file_store_roundtrip_and_refusals(s3_server: S3) -> None:  # noqa: F811
    fs = S3FileStore(s3_server.bucket("unit") + "/pre/fix")
    fs.check()
    data = bytes(range(256)) * 4096 + b"tail"  # > 1 MiB, not a multiple of any chunk
    assert fs.write("e", "p", "r", "media/a.bin", io.BufferedReader(io.BytesIO(data)),
                    len(data)) == len(data)
    with fs.open_read("e", "p", "r", "media/a.bin") as f:  # type: ignore[union-attr]
        assert f.size == len(data) and f.read() == data
    keys = [o["Key"] for o in s3_server.client().list_objects_v2(Bucket="unit")["Contents"]]
    assert keys == ["pre/fix/e/p/r/media/a.bin"]
    assert fs.open_read("e", "p", "r", "nope") is None
    assert fs.list("e", "p", "r") == [("media/a.bin", len(data))] and fs.list("e", "p", "x") == []
    for bad in ("../x", "/abs", "a/../../b", "a\\b", ""):
        with pytest.raises(ValueError, match="invalid file name"):
            fs.open_read("e", "p", "r", bad)
    with pytest.raises(ValueError, match="invalid run path"):
        fs.write("..", "p", "r", "x", io.BufferedReader(io.BytesIO(b"")), 0)
    # a client that hangs up mid-upload stores nothing
    with pytest.raises(ConnectionError):
        fs.write("e", "p", "r", "short.bin", io.BufferedReader(io.BytesIO(b"abc")), 10)
    assert fs.open_read("e", "p", "r", "short.bin") is None
    assert fs.delete("e", "p", "r", "media/a.bin") and not fs.delete("e", "p", "r", "media/a.bin")
    with pytest.raises(RuntimeError, match="s3://no-such-bucket"):
        S3FileStore("s3://no-such-bucket").check()
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        S3FileStore("s3:///nobucket")


def test_forwarded_headers_only_from_trusted_proxies() -> None:
    nets = proxies.parse_networks(["10.0.0.0/8, 127.0.0.1"])
    xf = {"Host": "10.1.2.3:8080", "X-Forwarded-Proto": "https",
          "X-Forwarded-Host": "track.example", "X-Forwarded-For": "203.0.113.7, 10.9.9.9"}
    assert proxies.origin("10.1.1.1", xf, nets) == proxies.Origin(
        "https", "track.example", "203.0.113.7")
    assert proxies.origin("192.0.2.1", xf, nets) == proxies.Origin(
        "http", "10.1.2.3:8080", "192.0.2.1")
    assert proxies.origin("10.1.1.1", xf, ()) == proxies.Origin("http", "10.1.2.3:8080", "10.1.1.1")
    fwd = {"Host": "x",
           "Forwarded": 'for="[2001:db8::1]:443";proto=https;host=t.example, for=1.2.3.4'}
    assert proxies.origin("127.0.0.1", fwd, nets) == proxies.Origin(
        "https", "t.example", "2001:db8::1")
    evil = {"Host": "ok:1", "X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "a/b@c"}
    assert proxies.origin("127.0.0.1", evil, nets) == proxies.Origin("http", "ok:1", "127.0.0.1")
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an address or CIDR"):
        proxies.parse_networks(["10.0.0.0/33"])


def test_upload_urls_follow_the_trusted_proxy(pair: Pair) -> None:
    assert pair.post(pair.a, UPSERT, name="px").status_code == 200
    fwd = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "track.example"}
    r = pair.post(pair.a, FILES, headers=fwd, name="px", files=["f.txt"])
    assert r.json()["data"]["createRunFiles"]["files"][0]["uploadUrl"].startswith(
        "https://track.example/storage/alice/p/px/f.txt?")
    r = pair.post(pair.b, FILES, headers=fwd, name="px", files=["f.txt"])  # B trusts no one
    assert r.json()["data"]["createRunFiles"]["files"][0]["uploadUrl"].startswith(
        f"{pair.b.url}/storage/alice/p/px/f.txt?")


def test_any_replica_takes_uploads_downloads_logins_and_rotated_keys(pair: Pair) -> None:
    a, b = pair.a, pair.b
    assert pair.post(a, UPSERT, name="r1").status_code == 200
    data = b"\x00\x01binary\xff" * 50_000
    url = pair.upload_url(a, "r1", "media/blob.bin")
    put = requests.put(url.replace(a.url, b.url), data=data, timeout=30)  # signed by A, PUT to B
    assert put.status_code == 200, put.text
    for srv in (a, b):
        got = requests.get(f"{srv.url}/api/v1/runs/alice/p/r1/files/media/blob.bin",
                           auth=("api", pair.key), timeout=30)
        assert got.status_code == 200 and got.content == data
        listed = requests.get(f"{srv.url}/api/v1/runs/alice/p/r1/files", auth=("api", pair.key),
                              timeout=30).json()["files"]
        assert [(f["name"], f["size"]) for f in listed] == [("media/blob.bin", len(data))]
    assert not (a.dir / "server" / "files").exists() and not (b.dir / "server" / "files").exists()

    # a one-time code asked on A logs in on B once; the session works on A
    code = requests.post(f"{a.url}/api/v1/login-code", auth=("api", pair.key), timeout=30,
                         data=b"").json()["code"]
    browser = requests.Session()
    r = browser.get(f"{b.url}/pages/login?once={code}", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "nbtrack_session" in browser.cookies
    sid = browser.cookies["nbtrack_session"]
    for srv in (a, b):
        seen = requests.get(f"{srv.url}/pages/api/viewer", cookies={"nbtrack_session": sid},
                            timeout=30)
        assert seen.status_code == 200 and seen.json()["entity"] == "alice"
    again = requests.get(f"{a.url}/pages/login?once={code}", allow_redirects=False, timeout=30)
    assert again.status_code == 403 and "was used or has expired" in again.text
    with psycopg.connect(pair.db) as db:  # the database holds hashes, never the ids
        kept = db.execute("SELECT kind, digest, principal FROM secrets").fetchall()
    assert ("session", hashlib.sha256(sid.encode()).hexdigest()) in {(k, d) for k, d, _ in kept}
    assert not any(sid in str(row) or code in str(row) for row in kept)

    # key rotation: URLs signed before stay valid after one rotation, not after two
    old = pair.upload_url(b, "r1", "old.txt")
    out = _cli(pair.db, "signing-key", "rotate")
    assert out.returncode == 0 and "is current" in out.stdout, out.stderr
    for srv in (a, b):
        assert requests.put(old.replace(b.url, srv.url), data=b"x", timeout=30).status_code == 200
    time.sleep(CACHE_SECONDS + 0.5)  # A signs with the new key from now on
    new = pair.upload_url(a, "r1", "new.txt")
    assert _cli(pair.db, "signing-key", "rotate").returncode == 0
    for srv in (a, b):
        stale = requests.put(old.replace(b.url, srv.url), data=b"x", timeout=30)
        assert stale.status_code == 403 and "invalid or expired upload signature" in stale.text
        assert requests.put(new.replace(a.url, srv.url), data=b"y", timeout=30).status_code == 200


FAKETIME = next(Path("/usr/lib").glob("*/faketime/libfaketimeMT.so.1"),
                Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"))


def test_a_replica_with_a_wrong_clock_judges_runs_by_the_databases(
    pair: Pair, tmp_path: Path
) -> None:
    """Replica C's clock is one hour ahead (libfaketime); heartbeats it writes and the
    'crashed' it judges still agree with the other replicas (the database's clock)."""
    assert FAKETIME.exists(), "libfaketime is missing: bash scripts/system_deps.sh"
    with pytest.MonkeyPatch.context() as mp:  # for the server process only
        mp.setenv("LD_PRELOAD", str(FAKETIME))
        mp.setenv("FAKETIME", "+1h")
        mp.setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        c = start_server(tmp_path / "c", db=pair.db, files=pair.a.options["files"],
                         state_file=tmp_path / "c.json", heartbeat_timeout=120, timeout=30)
    try:
        ahead = parsedate_to_datetime(requests.get(f"{c.url}/healthz", timeout=30)
                                      .headers["Date"]).timestamp() - time.time()
        assert 3500 < ahead < 3700  # the fake clock is real
        assert pair.post(pair.a, UPSERT, name="clock").status_code == 200
        seen = requests.get(f"{c.url}/api/v1/runs/alice/p/clock", auth=("api", pair.key),
                            timeout=30).json()
        assert seen["state"] == "running"  # not "crashed": the heartbeat is seconds old
        assert pair.post(c, UPSERT, name="clock2").status_code == 200
        with psycopg.connect(pair.db) as db:
            row = db.execute("SELECT heartbeat_at - extract(epoch FROM clock_timestamp())"
                             " FROM runs WHERE name='clock2'").fetchone()
        assert row is not None and abs(float(row[0])) < 60  # written in the database's time
    finally:
        c.stop()


def test_postgres_restart_answers_503_then_costs_no_request(pair: Pair) -> None:
    """The last test: it restarts the module's PostgreSQL."""
    for srv in (pair.a, pair.b):  # every pooled connection used once, so all are stale after
        for _ in range(4):
            assert pair.post(srv, VIEWER).status_code == 200
    pair.cluster.halt()
    try:
        start = time.monotonic()
        down = pair.post(pair.a, VIEWER)
        assert down.status_code == 503, down.text
        assert down.headers["Retry-After"] == "2"
        assert "the database is unavailable" in down.json()["error"]
        assert time.monotonic() - start < 30
    finally:
        pair.cluster.resume()
    # the very first requests after the restart must not fail on dead pooled connections
    statuses = [pair.post(srv, VIEWER).status_code for srv in (pair.a, pair.b) for _ in range(20)]
    assert statuses == [200] * 40


def test_an_unreachable_object_store_answers_503(pair: Pair, s3_server: S3) -> None:  # noqa: F811
    """After the restart test; it stops the module's S3 server."""
    assert pair.post(pair.a, UPSERT, name="s3down").status_code == 200
    url = pair.upload_url(pair.a, "s3down", "f.bin")
    assert requests.put(url, data=b"before", timeout=30).status_code == 200
    s3_server.stop()
    got = requests.get(f"{pair.b.url}/api/v1/runs/alice/p/s3down/files/f.bin",
                       auth=("api", pair.key), timeout=60)
    assert got.status_code == 503 and got.headers["Retry-After"] == "2"
    assert got.json()["error"] == "the file store is unavailable; retry later"
    put = requests.put(url.replace(pair.a.url, pair.b.url), data=b"after", timeout=60)
    assert put.status_code == 503 and "file store is unavailable" in put.text


def test_cli_rejects_unknown_file_store_urls(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "nbtrack.server", "--dir", str(tmp_path),
                          "--files", "gs://bucket", "--no-state-file"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 1 and "unsupported --files URL 'gs://bucket'" in out.stderr

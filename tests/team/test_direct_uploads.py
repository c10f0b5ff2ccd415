"""Issue 19, direct uploads: with an S3 store, clients PUT run files straight to the store.

Real parts: moto's S3 API over HTTP on 127.0.0.1, one ``nbtrack server`` (SQLite, team
keys) with ``--files s3://...`` and its debug access log, nbtrack's client and the official
wandb client in their own processes. moto is an emulator and does not check presigned
signatures, so the test checks the URL's SigV4 signature itself, the way S3 does
(:func:`_sigv4_ok`): the issued URL verifies, the same URL pointed at another key does not.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from compat.venvs import INSTALLS

from nbtrack.server import auth
from nbtrack.server.storage.url import open_storage
from nbtrack.server.wandb.uploads import URL_TTL

from helpers.s3 import S3, s3_server  # noqa: F401  (fixture)
from helpers.server import RunningServer, start_server

SCRIPTS = Path(__file__).parent / "scripts"
BUCKET, PREFIX = "direct", "pre"
UPSERT = """mutation($name: String) {
  upsertBucket(input: {name: $name, modelName: "p", entityName: "alice"}) {
    bucket { name } } }"""
FILES = """mutation($name: String!, $files: [String]!) {
  createRunFiles(input: {entityName: "alice", projectName: "p", runName: $name,
                         files: $files}) { files { name uploadUrl } } }"""
# the replica's own access log (not urllib3's lines about its requests to the store)
_ACCESS = re.compile(r'nbtrack\.server: \S+ "([A-Z]+) (/[^ "]*) HTTP/1\.[01]"')


@dataclass
class Direct:
    srv: RunningServer
    s3: S3
    key: str
    revoked: str
    secret: str  # the server's AWS secret key: must never leave it

    def gql(self, query: str, key: str | None = None, **variables: object) -> requests.Response:
        return requests.post(f"{self.srv.url}/graphql", json={"query": query,
                             "variables": variables}, auth=("api", key or self.key), timeout=30)

    def api(self, path: str) -> requests.Response:
        return requests.get(f"{self.srv.url}/api/v1/runs/alice/{path}", auth=("api", self.key),
                            timeout=30)

    def objects(self, project: str, run: str) -> dict[str, bytes]:
        base = f"{PREFIX}/alice/{project}/{run}/"
        c = self.s3.client()
        listed = c.list_objects_v2(Bucket=BUCKET, Prefix=base).get("Contents", [])
        return {o["Key"][len(base):]: c.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
                for o in listed}

    def replica_saw(self, method: str) -> list[str]:
        """The paths of the ``method`` requests in the replica's access log."""
        log = (self.srv.dir / "server" / "test-server.log").read_text(errors="replace")
        return [path for m, path in _ACCESS.findall(log) if m == method]

    def run_file_puts(self) -> list[str]:
        """The replica's PUTs of run files. Artifact bodies (the run table a ``wandb.Table``
        logs) always pass through the server, which checks their MD5 as they arrive
        (docs/artifacts.md), so they are not counted."""
        return [p for p in self.replica_saw("PUT") if not p.startswith("/artifact-storage/")]


@pytest.fixture(scope="module")
def direct(s3_server: S3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Direct]:  # noqa: F811
    INSTALLS.start("wandb")
    base = tmp_path_factory.mktemp("direct")
    db = base / "team.db"
    storage = open_storage(str(db))
    try:
        auth.add_user(storage, "alice", [])
        key = auth.create_key(storage, "alice")[1]
        kid, revoked = auth.create_key(storage, "alice")
        storage.revoke_key(kid)
    finally:
        storage.close()
    s3_server.client().create_bucket(Bucket=BUCKET)
    secret = "srv-secret-" + secrets.token_hex(8)
    with pytest.MonkeyPatch.context() as mp:  # the server's own credentials (moto takes any)
        mp.setenv("AWS_ACCESS_KEY_ID", "AKIDNBTRACKTEST")
        mp.setenv("AWS_SECRET_ACCESS_KEY", secret)
        mp.delenv("NBTRACK_SERVER_UPLOADS", raising=False)  # direct: the default with S3
        srv = start_server(base / "srv", db=str(db), files=f"s3://{BUCKET}/{PREFIX}",
                           log_level="DEBUG", timeout=30)
    try:
        yield Direct(srv, s3_server, key, revoked, secret)
    finally:
        srv.stop()


def _client(kind: str, d: Direct, project: str, payload: Path, home: Path) -> dict[str, str]:
    """One run of ``load_client.py`` (nbtrack's interpreter or the wandb venv); its RESULT."""
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WANDB_", "NBTRACK_", "AWS_"))}  # no store credentials
    env.update(HOME=str(home), NBTRACK_DIR=str(home / "nbtrack"), WANDB_DIR=str(home),
               WANDB_SILENT="true", WANDB_DISABLE_GIT="true", WANDB_ERROR_REPORTING="false",
               WANDB_CONFIG_DIR=str(home / "config"), WANDB_CACHE_DIR=str(home / "cache"),
               WANDB_DATA_DIR=str(home / "data"))
    python = str(INSTALLS.get("wandb").python) if kind == "wandb" else sys.executable
    proc = subprocess.run(
        [python, str(SCRIPTS / "load_client.py"), kind, d.srv.url, d.key, project, "20", "0",
         str(payload)], env=env, cwd=home, capture_output=True, text=True, timeout=240,
        stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-4000:]
    return dict(json.loads(lines[-1][len("RESULT "):]))


@pytest.mark.parametrize("kind", ["nbtrack", "wandb"])
def test_clients_upload_straight_to_the_store(
    direct: Direct, kind: str, tmp_path: Path
) -> None:
    """Both clients PUT through presigned URLs: the objects land in S3, the replica sees no
    PUT, every reader lists them with the stored sizes, and downloads are byte-exact."""
    payload = tmp_path / "payload.bin"
    payload.write_bytes(secrets.token_bytes(300_000))
    project = f"p-{kind}"
    res = _client(kind, direct, project, payload, tmp_path / "home")
    assert res["state"] == "finished"
    run = res["id"]

    stored = direct.objects(project, run)
    assert stored.get("payload.bin") == payload.read_bytes()
    assert direct.run_file_puts() == []  # not one byte of a run file through the replica
    assert any(p.startswith("/files/") for p in direct.replica_saw("POST"))  # the log is live

    listed = {f["name"]: f["size"] for f in direct.api(f"{project}/{run}/files").json()["files"]}
    assert listed == {name: len(body) for name, body in stored.items()}
    got = direct.api(f"{project}/{run}/files/payload.bin")
    assert got.status_code == 200 and got.content == payload.read_bytes()

    if kind == "wandb":  # and the official client's public API reads the same
        dl = tmp_path / "dl"
        out = subprocess.run(
            [str(INSTALLS.get("wandb").python), str(SCRIPTS / "direct_files.py"),
             f"alice/{project}/{run}", str(dl)],
            env={**{k: v for k, v in os.environ.items() if not k.startswith("WANDB_")},
                 "WANDB_BASE_URL": direct.srv.url, "WANDB_API_KEY": direct.key,
                 "WANDB_SILENT": "true", "HOME": str(tmp_path),
                 "WANDB_CONFIG_DIR": str(tmp_path / "config")},
            capture_output=True, text=True, timeout=120, check=False)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
        assert lines, out.stdout[-2000:] + out.stderr[-4000:]
        read = json.loads(lines[-1][len("RESULT "):])
        assert {n: f["size"] for n, f in read.items()} == listed
        assert {n: f["sha256"] for n, f in read.items()} == {
            n: hashlib.sha256(b).hexdigest() for n, b in stored.items()}


def _sigv4_ok(url: str, secret: str) -> bool:
    """Whether ``url``'s SigV4 query signature is right for its method (PUT), host, path and
    query, computed as S3 does for a presigned request with an unsigned payload."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    q = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                 for k, v in sorted(query) if k != "X-Amz-Signature")
    canonical = "\n".join(["PUT", parts.path, q, f"host:{parts.netloc}", "", "host",
                           "UNSIGNED-PAYLOAD"])
    _, day, region, service, _ = params["X-Amz-Credential"].split("/")
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, params["X-Amz-Signature"])


def test_presigned_urls_are_bound_short_lived_and_only_for_live_keys(direct: Direct) -> None:
    assert direct.gql(UPSERT, name="sec").status_code == 200
    r = direct.gql(FILES, name="sec", files=["a.txt", "never.txt"])
    assert r.status_code == 200, r.text
    assert direct.secret not in r.text  # credentials never leave the server
    urls = {f["name"]: f["uploadUrl"] for f in r.json()["data"]["createRunFiles"]["files"]}
    url = urls["a.txt"]
    parts = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(parts.query))
    assert url.startswith(direct.s3.endpoint + "/")  # the store, not the replica
    assert parts.path == f"/{BUCKET}/{PREFIX}/alice/p/sec/a.txt"
    assert int(params["X-Amz-Expires"]) == URL_TTL
    assert params["X-Amz-Credential"].startswith("AKIDNBTRACKTEST/")

    # bound to its object: the signature holds for its own key and for no other
    assert _sigv4_ok(url, direct.secret)
    other = urllib.parse.urlunsplit(parts._replace(path=parts.path.replace("a.txt", "b.txt")))
    assert not _sigv4_ok(other, direct.secret)
    assert not _sigv4_ok(url.replace("a.txt", "never.txt", 1), direct.secret)

    # a URL handed out lists nothing until its PUT has completed, then the stored size
    assert direct.api("p/sec/files").json()["files"] == []
    assert requests.put(url, data=b"x" * 1234, timeout=30).status_code == 200
    listed = direct.api("p/sec/files").json()["files"]
    assert [(f["name"], f["size"]) for f in listed] == [("a.txt", 1234)]

    # a revoked key gets no URL at all
    refused = direct.gql(FILES, key=direct.revoked, name="sec", files=["c.txt"])
    assert refused.status_code == 401 and "X-Amz" not in refused.text
    assert direct.run_file_puts() == []


def test_direct_uploads_need_an_object_store(tmp_path: Path) -> None:
    """``--uploads direct`` with a directory store refuses to start, saying why."""
    proc = subprocess.run([sys.executable, "-m", "nbtrack.server", "--dir", str(tmp_path),
                           "--no-state-file", "--uploads", "direct"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "--uploads direct needs an object store" in proc.stderr

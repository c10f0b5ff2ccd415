"""createRunFiles, PUT to the signed URLs, reading files back, and traversal refusals."""

from __future__ import annotations

import base64
import http.client
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from helpers.server import RunningServer, api, auth, gql, start_server, upsert

CREATE = """
mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run,
                         files: $files}) {
    runID uploadHeaders files { name uploadUrl }
  }
}
"""


def _entity(server: RunningServer) -> str:
    return str(gql(server, "{ viewer { entity } }")["data"]["viewer"]["entity"])


def _urls(server: RunningServer, names: list[str]) -> dict[str, str]:
    out = gql(
        server, CREATE, {"entity": _entity(server), "project": "proj", "run": "f1", "files": names}
    )
    assert "errors" not in out, out
    crf = out["data"]["createRunFiles"]
    assert crf["runID"] and crf["uploadHeaders"] == []
    return {f["name"]: f["uploadUrl"] for f in crf["files"]}


def test_upload_and_read_back(live_server: RunningServer) -> None:
    upsert(live_server, "f1")
    urls = _urls(live_server, ["config.yaml", "media/images/a b.png"])
    assert all(u.startswith(live_server.url + "/") for u in urls.values())
    payload = bytes(range(256)) * 1000
    assert requests.put(urls["media/images/a b.png"], data=payload, timeout=10).ok  # no auth
    assert requests.put(urls["config.yaml"], data=b"lr: 0.1\n", timeout=10).ok
    path = f"runs/{_entity(live_server)}/proj/f1/files"
    listing = api(live_server, path).json()["files"]
    assert {(f["name"], f["size"]) for f in listing} == {
        ("config.yaml", 8),
        ("media/images/a b.png", 256000),
    }
    got = api(live_server, f"{path}/media/images/a%20b.png")
    assert got.status_code == 200 and got.content == payload
    assert api(live_server, f"{path}/nothing.txt").status_code == 404
    stored = live_server.dir / "server" / "files" / _entity(live_server) / "proj" / "f1"
    assert (stored / "config.yaml").read_bytes() == b"lr: 0.1\n"


def test_upload_signature_is_checked(live_server: RunningServer) -> None:
    upsert(live_server, "f1")
    url = _urls(live_server, ["x.txt"])["x.txt"]
    assert requests.put(url.replace("sig=", "sig=0"), data=b"x", timeout=5).status_code == 403
    other = url.replace("/x.txt?", "/y.txt?")
    assert requests.put(other, data=b"x", timeout=5).status_code == 403
    assert requests.put(url.split("?")[0], data=b"x", timeout=5).status_code == 403


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for the many parametrized refusal cases (they only read)."""
    srv = start_server(tmp_path_factory.mktemp("uploads"))
    upsert(srv, "f1")
    yield srv
    srv.stop()


@pytest.mark.parametrize("name", ["../x", "/abs", "a/../../b", "a\\..\\b", "", "a//b"])
def test_create_run_files_refuses_bad_names(live_server: RunningServer, name: str) -> None:
    upsert(live_server, "f1")
    out = gql(
        live_server,
        CREATE,
        {"entity": _entity(live_server), "project": "proj", "run": "f1", "files": [name]},
    )
    assert out["data"]["createRunFiles"] is None and out["errors"]


@pytest.mark.parametrize(
    "tail",
    [
        "../x",
        "%2e%2e/x",
        "a/../../b",
        "a/%2E%2E/%2e%2e/b",
        "..%2f..%2fb",
        "%2fabs",
        "a%5c..%5cb",
        "..",
        "a/./b",
    ],
)
def test_put_refuses_traversal(shared_server: RunningServer, tail: str) -> None:
    live_server = shared_server
    port = int(urllib.parse.urlsplit(live_server.url).port or 0)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    user, token = auth(live_server)

    cred = base64.b64encode(f"{user}:{token}".encode()).decode()
    path = f"/storage/{_entity(live_server)}/proj/f1/{tail}"
    conn.request("PUT", path, body=b"evil", headers={"Authorization": f"Basic {cred}"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 400, (tail, resp.status)
    escaped = [p for p in (live_server.dir / "server").rglob("*") if p.name in ("x", "b", "abs")]
    assert escaped == []


def test_put_with_auth_but_unknown_run_is_404(live_server: RunningServer) -> None:
    r = requests.put(
        f"{live_server.url}/storage/{_entity(live_server)}/proj/nope/a.txt",
        data=b"x",
        auth=auth(live_server),
        timeout=5,
    )
    assert r.status_code == 404


def test_logs_never_contain_the_token_or_signatures(server_factory: Any) -> None:
    srv = server_factory(log_level="DEBUG")
    upsert(srv, "f1")
    urls = _urls(srv, ["a.txt"])
    assert requests.put(urls["a.txt"], data=b"x", timeout=5).ok
    requests.get(f"{srv.url}/api/v1/runs", auth=("api", "wrong" + srv.token), timeout=5)
    srv.stop()
    log = (srv.dir / "server" / "test-server.log").read_text()
    sig = urllib.parse.parse_qs(urllib.parse.urlsplit(urls["a.txt"]).query)["sig"][0]
    assert "PUT /storage/" in log  # the access log is on
    assert srv.token not in log and sig not in log

"""Auth, body limits and GraphQL top-level behaviour over real HTTP."""

from __future__ import annotations

import base64
import http.client
import json
import stat
from typing import Any

import requests

from helpers.server import RunningServer, auth, gql, state_of


def _raw(
    server: RunningServer,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_healthz_is_open_everything_else_needs_the_token(live_server: RunningServer) -> None:
    assert requests.get(f"{live_server.url}/healthz", timeout=5).json()["ok"] is True
    q = {"query": "{ viewer { username } }"}
    for kw in ({}, {"auth": ("api", "0" * 40)}, {"auth": ("api", live_server.token[:-1])}):
        r = requests.post(f"{live_server.url}/graphql", json=q, timeout=5, **kw)  # type: ignore[arg-type]
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="nbtrack"'
    assert requests.get(f"{live_server.url}/api/v1/runs", timeout=5).status_code == 401
    ok = requests.post(f"{live_server.url}/graphql", json=q, auth=auth(live_server), timeout=5)
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["username"]
    # W&B clients may send another user name: the password is what counts
    other = requests.post(
        f"{live_server.url}/graphql", json=q, auth=("someone", live_server.token), timeout=5
    )
    assert other.status_code == 200
    status, _, _ = _raw(
        live_server, "GET", "/api/v1/runs", {"Authorization": "Bearer " + live_server.token}
    )
    assert status == 401


def test_state_file_is_private_and_describes_the_server(live_server: RunningServer) -> None:
    path = live_server.dir / "server" / "state.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    state = state_of(live_server)
    assert state["pid"] == live_server.pid and state["token"] == live_server.token
    assert state["url"] == live_server.url and state["host"] == "127.0.0.1"
    assert {"port", "version", "started"} <= set(state)
    live_server.stop()
    assert not path.exists()


def test_huge_content_length_is_refused_unread(live_server: RunningServer) -> None:
    headers = {
        "Authorization": _basic("api", live_server.token),
        "Content-Type": "application/json",
        "Content-Length": str(10 * 1024**3),
    }
    status, h, _ = _raw(live_server, "POST", "/graphql", headers, b"{}")
    assert status == 413 and h.get("Connection") == "close"
    status, _, _ = _raw(
        live_server, "POST", "/graphql", {"Authorization": headers["Authorization"]}
    )
    assert status == 411


def test_small_body_limit_flag(server_factory: Any) -> None:
    srv = server_factory(max_body_bytes=1000)
    body = {"query": "{ viewer { id } }", "pad": "x" * 2000}
    r = requests.post(f"{srv.url}/graphql", json=body, auth=auth(srv), timeout=5)
    assert r.status_code == 413
    body["pad"] = ""
    assert requests.post(f"{srv.url}/graphql", json=body, auth=auth(srv), timeout=5).ok


def test_keep_alive_serves_several_requests_on_one_connection(live_server: RunningServer) -> None:
    with requests.Session() as s:
        s.auth = auth(live_server)
        for _ in range(3):
            assert s.post(
                f"{live_server.url}/graphql", json={"query": "{ viewer { id } }"}, timeout=5
            ).ok
        bad = s.post(f"{live_server.url}/graphql", data=b"not json", timeout=5)
        assert bad.status_code == 400
        assert s.get(f"{live_server.url}/api/v1/viewer", timeout=5).ok


def test_viewer_server_info_and_unknown_fields(live_server: RunningServer) -> None:
    out = gql(
        live_server,
        """
      query { viewer { id entity username email flags admin teams { edges { node { name } } } }
              info: serverInfo { cliVersionInfo latestLocalVersionInfo { latestVersionString }
                                 features { name isEnabled } }
              __typename }
    """,
    )
    assert "errors" not in out
    v = out["data"]["viewer"]
    assert v["entity"] == v["username"] and v["flags"] == "{}" and v["admin"] is False
    assert v["teams"] == {"edges": []}
    assert out["data"]["info"] == {
        "cliVersionInfo": "{}",
        "latestLocalVersionInfo": None,
        "features": [],
    }
    assert out["data"]["__typename"] == "Query"
    assert (
        requests.get(f"{live_server.url}/api/v1/viewer", auth=auth(live_server), timeout=5).json()[
            "entity"
        ]
        == v["entity"]
    )
    bad = gql(live_server, "{ viewer { id } launchRockets { id } }")
    assert bad["data"]["viewer"]["id"] and bad["data"]["launchRockets"] is None
    assert "launchRockets" in bad["errors"][0]["message"]
    syntax = gql(live_server, "{ viewer { ")
    assert syntax["data"] is None and syntax["errors"]
    assert json.dumps(syntax)


def test_client_telemetry_is_accepted_and_dropped(live_server: RunningServer) -> None:
    r = requests.post(f"{live_server.url}/sdk/otel/v1/metrics", data=b"\x00" * 100, timeout=5)
    assert r.status_code == 200
    status, _, _ = _raw(live_server, "POST", "/sdk/otel/v1/logs",
                        {"Content-Length": str(40 * 1024**2)}, b"x")
    assert status == 413

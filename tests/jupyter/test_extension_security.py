"""Security of the run pages, through Jupyter and on the tracking server itself.

* without Jupyter's login every nbtrack route (pages, static files, JSON) answers 403 or
  redirects to the login page;
* the tracking server's token never appears in a page, a response body, a header sent to
  the browser, or a log;
* POST / PUT / DELETE through the extension are refused;
* ``..`` and encoded traversal in paths are refused;
* the tracking server's ``/pages/`` need a token login whose cookie is HttpOnly and is not
  the token.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from jupyter_helpers import BASE_URL, TOKEN, Jupyter, start_jupyter

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def setup(nbtrack_home: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Jupyter, dict[str, str]]]:
    import nbtrack
    from nbtrack.client.localserver import find_local_server

    run = nbtrack.init(project="sec", name="secret-run", config={"a": 1})
    for i in range(50):
        run.log({"loss": 1.0 / (i + 1)})
    (run.dir / "notes.txt").write_text("hello")
    run.save(str(run.dir / "notes.txt"))
    run.finish(quiet=True)
    info = find_local_server(nbtrack_home)
    assert info is not None
    facts = {"path": f"{run.entity}/sec/{run.id}", "token": info.token, "url": info.url}
    with start_jupyter(tmp_path_factory.mktemp("jup"), nbtrack_home) as jup:
        yield jup, facts


def routes(path: str) -> list[str]:
    return [
        "nbtrack", "nbtrack/", "nbtrack/compare", f"nbtrack/runs/{path}", "nbtrack/ping",
        "nbtrack/static/pages.js", "nbtrack/static/pages.css",
        "nbtrack/static/uPlot.LICENSE", "nbtrack/api/viewer", "nbtrack/api/runs",
        f"nbtrack/api/runs/{path}", f"nbtrack/api/runs/{path}/history?samples=10",
        f"nbtrack/api/runs/{path}/events", f"nbtrack/api/runs/{path}/output",
        f"nbtrack/api/runs/{path}/files", f"nbtrack/api/runs/{path}/files/notes.txt",
    ]


def raw(jup: Jupyter, method: str, path: str, headers: dict[str, str] | None = None,
        body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with the path sent exactly as given (no client-side normalization)."""
    conn = http.client.HTTPConnection("127.0.0.1", jup.port, timeout=20)
    try:
        conn.request(method, BASE_URL + path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


AUTH = {"Authorization": f"token {TOKEN}"}


def test_every_route_needs_jupyter_login(setup: tuple[Jupyter, dict[str, str]]) -> None:
    jup, facts = setup
    for route in routes(facts["path"]):
        status, headers, _ = raw(jup, "GET", route)
        if status == 302:
            assert "/login" in headers["location"], (route, headers)
        else:
            assert status == 403, (route, status)
        # a wrong Jupyter token is no better
        status, headers, _ = raw(jup, "GET", route, {"Authorization": "token wrong"})
        assert status in (302, 403), (route, status)


def test_logged_in_routes_work_and_never_show_the_token(
        setup: tuple[Jupyter, dict[str, str]]) -> None:
    jup, facts = setup
    secret = facts["token"]
    for route in routes(facts["path"]):
        status, headers, body = raw(jup, "GET", route, AUTH)
        assert status in (200, 301), (route, status, body[:200])
        assert secret.encode() not in body, route
        assert all(secret not in v for v in headers.values()), route
    status, _, body = raw(jup, "GET", f"nbtrack/api/runs/{facts['path']}/files/notes.txt", AUTH)
    assert body == b"hello"
    assert secret not in jup.log.read_text()
    for log in (jup.nbtrack_dir / "server").glob("*.log"):
        assert secret not in log.read_text(errors="replace"), log


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_writes_are_refused(setup: tuple[Jupyter, dict[str, str]], method: str) -> None:
    jup, facts = setup
    for route in ["nbtrack/api/runs", f"nbtrack/api/runs/{facts['path']}",
                  f"nbtrack/api/runs/{facts['path']}/stop", "nbtrack/", "nbtrack/ping",
                  f"nbtrack/api/runs/{facts['path']}/files/notes.txt"]:
        status, _, _ = raw(jup, method, route, {**AUTH, "Content-Type": "application/json"},
                           b"{}")
        assert status in (403, 405), (method, route, status)


TRAVERSALS = [
    "nbtrack/api/../api/status", "nbtrack/api/runs/../../..", "nbtrack/api/%2e%2e/healthz",
    "nbtrack/api/runs/x/%2E%2E/y/history", "nbtrack/api/..%2f..%2fhealthz",
    "nbtrack/api/runs/a/b/c/files/..%2f..%2f..%2fstate.json",
    "nbtrack/api/runs/a/b/c/files/%252e%252e/x", "nbtrack/api/runs/a/b/c/files/a%5c..%5cb",
    "nbtrack/api/runs/a/b/c/files/%00", "nbtrack/static/../handlers.py",
    "nbtrack/static/%2e%2e/handlers.py", "nbtrack/static/vendor/..%2f..%2fpages.py",
    "nbtrack/static/.hidden", "nbtrack/runs/../../api/contents",
]


@pytest.mark.parametrize("route", TRAVERSALS)
def test_traversal_is_refused(setup: tuple[Jupyter, dict[str, str]], route: str) -> None:
    jup, _ = setup
    status, _, body = raw(jup, "GET", route, AUTH)
    assert status in (400, 403, 404), (route, status, body[:200])


def test_tracking_server_pages_need_a_token_login(setup: tuple[Jupyter, dict[str, str]]) -> None:
    _, facts = setup
    url, secret = facts["url"], facts["token"]
    s = requests.Session()
    r = s.get(f"{url}/pages/", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"].startswith("/pages/login")
    assert s.get(f"{url}/pages/api/runs", timeout=10).status_code == 403
    r = s.get(f"{url}/pages/login", params={"token": "wrong"}, allow_redirects=False, timeout=10)
    assert r.status_code == 403
    # the run URL the widget shows redirects to its page
    e, p, i = facts["path"].split("/")
    r = s.get(f"{url}/{e}/{p}/runs/{i}", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == f"/pages/runs/{facts['path']}"
    nxt = f"/pages/runs/{facts['path']}"
    r = s.get(f"{url}/pages/login", params={"token": secret, "next": nxt},
              allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == nxt
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and secret not in cookie
    for route in ["/pages/", nxt, "/pages/api/runs", f"/pages/api/runs/{facts['path']}/history"
                  "?samples=5", "/pages/static/pages.js"]:
        r = s.get(url + route, allow_redirects=False, timeout=10)
        assert r.status_code == 200, route
        assert secret not in r.text and all(secret not in v for v in r.headers.values())
    assert json.loads(s.get(f"{url}/pages/api/runs", timeout=10).text)["runs"]
    # the login form works too (with the token its page set), and the pages are read-only
    form = requests.Session()
    page = form.get(f"{url}/pages/login", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None, page
    r = form.post(f"{url}/pages/login", data={"token": secret, "next": "/pages/",
                                              "csrf": csrf.group(1)},
                  allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "HttpOnly" in r.headers["Set-Cookie"]
    assert s.post(f"{url}/pages/api/runs", timeout=10).status_code in (403, 404, 405)
    for bad in ["/pages/api/runs/..%2f..%2fx", "/pages/static/..%2fpages.py",
                "/pages/api/runs/a/b/c/files/%2e%2e"]:
        status = s.get(url + bad, allow_redirects=False, timeout=10).status_code
        assert status in (400, 404), bad
    # the one-time login link the server logged when it started works once
    log_text = (setup[0].nbtrack_dir / "server" / "server.log").read_text()
    links = re.findall(r"(http://\S+/pages/login\?once=[\w-]+)", log_text)
    assert links, log_text[-2000:]
    fresh = requests.Session()
    r = fresh.get(links[-1], allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "HttpOnly" in r.headers["Set-Cookie"]
    assert fresh.get(f"{url}/pages/api/runs", timeout=10).status_code == 200
    r = requests.get(links[-1], allow_redirects=False, timeout=10)
    assert r.status_code == 403
    # an open redirect through next= is refused
    r = requests.get(f"{url}/pages/login", params={"token": secret, "next": "//evil.example/"},
                     allow_redirects=False, timeout=10)
    assert r.headers["Location"] == "/pages/"
    for log in (Path(urllib.parse.unquote(str(setup[0].nbtrack_dir))) / "server").glob("*.log"):
        assert secret not in log.read_text(errors="replace"), log


def test_no_server_page(tmp_path: Path) -> None:
    empty = tmp_path / "no-server-home"
    empty.mkdir()
    with start_jupyter(tmp_path / "jup", empty) as jup:
        status, _, body = raw(jup, "GET", "nbtrack/", AUTH)
        assert status == 503
        assert b"No nbtrack tracking server is running" in body and b"nbtrack server" in body
        status, _, body = raw(jup, "GET", "nbtrack/api/runs", AUTH)
        assert status == 503 and "nbtrack server" in json.loads(body)["hint"]


def test_server_from_environment(setup: tuple[Jupyter, dict[str, str]], tmp_path: Path) -> None:
    """``NBTRACK_BASE_URL`` + ``NBTRACK_API_KEY`` in Jupyter's environment name the server
    (no state file needed); the key stays on the server side."""
    _, facts = setup
    empty = tmp_path / "no-state-home"
    empty.mkdir()
    env = {"NBTRACK_BASE_URL": facts["url"], "NBTRACK_API_KEY": facts["token"]}
    with start_jupyter(tmp_path / "jup", empty, env_extra=env) as jup:
        status, _, body = raw(jup, "GET", "nbtrack/api/runs", AUTH)
        assert status == 200 and facts["path"].split("/")[2] in body.decode()
        assert facts["token"].encode() not in body
        status, _, body = raw(jup, "GET", "nbtrack/", AUTH)
        assert status == 200 and facts["token"].encode() not in body
    # a wrong key: a clear error, not the server's 401 passed through
    env["NBTRACK_API_KEY"] = "wrong"
    with start_jupyter(tmp_path / "jup2", empty, env_extra=env) as jup:
        status, _, body = raw(jup, "GET", "nbtrack/api/runs", AUTH)
        assert status == 502 and b"refused the key" in body

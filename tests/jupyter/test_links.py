"""The links nbtrack prints: absolute through Jupyter inside Jupyter, one-time logins elsewhere.

Unit level (the browser opens them in ``test_links_browser.py``): the pages root the
extension exports, the link builder under ``base_url=/user/alice/`` and ``/``, and the
tracking server's login-code endpoint (refused without a key; codes work once, expire and
see what the key that asked sees).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from nbtrack.client import links
from nbtrack.client.readapi import Api, ApiError
from nbtrack.notebook.tables import status_lines
from nbtrack.sdk.display import page_url, printed_link, run_html
from nbtrack.server import auth
from nbtrack.server.storage.url import open_storage

from helpers.server import RunningServer, start_server

HUB = {"JUPYTERHUB_PUBLIC_URL": "https://hub.example/user/alice/"}


def _run(**kw: object) -> SimpleNamespace:
    base = dict(id="ab12", name="n", project="my proj", entity="alice", state="running",
                url="http://127.0.0.1:5000/alice/my proj/runs/ab12", mode="local",
                exit_code=None, sync_command=None, log_path="/tmp/x/run-ab12.nbtrack")
    base.update(kw)
    return SimpleNamespace(**base)


@pytest.mark.parametrize(("base_url", "connection_url", "display_url", "env", "root"), [
    ("/user/alice/", "http://127.0.0.1:8888/user/alice/", "", {},
     "http://127.0.0.1:8888/user/alice/nbtrack/"),
    ("/", "http://127.0.0.1:8888/", "", {}, "http://127.0.0.1:8888/nbtrack/"),
    # behind a hub its public URL wins: the browser never sees the single-user server's port
    ("/user/alice/", "http://10.0.0.7:41234/user/alice/", "", HUB,
     "https://hub.example/user/alice/nbtrack/"),
    # Jupyter's custom_display_url (a proxy, a container) gives the origin
    ("/", "http://0a1b2c:8888/", "https://lab.example:9443/", {},
     "https://lab.example:9443/nbtrack/"),
    # a unix socket has no origin a browser opens: the path at least
    ("/user/alice/", "http+unix://%2Ftmp%2Fj.sock/user/alice/", "", {}, "/user/alice/nbtrack/"),
])
def test_pages_root_is_absolute(base_url: str, connection_url: str, display_url: str,
                                env: dict[str, str], root: str) -> None:
    assert links.jupyter_pages_root(base_url, connection_url, display_url, env) == root


@pytest.mark.parametrize("base_url", ["/user/alice/", "/"])
def test_links_through_jupyter_are_absolute(monkeypatch: pytest.MonkeyPatch, base_url: str,
                                            nbtrack_dir: Path) -> None:
    root = links.jupyter_pages_root(base_url, f"http://127.0.0.1:8888{base_url}")
    monkeypatch.setenv(links.ENV_PAGES, root)
    run = _run()
    expected = f"http://127.0.0.1:8888{base_url}nbtrack/runs/alice/my%20proj/ab12"
    assert page_url(run) == expected
    assert printed_link(run) == expected
    assert f'href="{expected}"' in run_html(run)
    page_lines = [line for line in status_lines(run, None) if line.startswith("  page:")]
    assert page_lines == [f"  page:      {expected}"]  # one page line, no tracking-server URL
    assert not any("127.0.0.1:5000" in line for line in status_lines(run, None))
    # a run on another server than the one the extension shows is not linked through it
    monkeypatch.setenv("NBTRACK_BASE_URL", "http://127.0.0.1:5000")
    other = _run(_link_credentials=lambda: ("https://team.example", None))
    assert page_url(other) == other.url
    assert str(printed_link(other)).startswith(other.url + " (log in")
    mine = _run(_link_credentials=lambda: ("http://127.0.0.1:5000/", None))
    assert page_url(mine) == expected


def test_links_without_the_extension(monkeypatch: pytest.MonkeyPatch, nbtrack_dir: Path) -> None:
    monkeypatch.delenv(links.ENV_PAGES, raising=False)
    run = _run()
    assert page_url(run) == run.url
    # no key to ask the server for a login code with: the line says how to get in
    assert printed_link(run) == f"{run.url} (log in with your API key)"
    # a run without a server has no page at all
    monkeypatch.setenv(links.ENV_PAGES, "http://127.0.0.1:8888/nbtrack/")
    assert page_url(_run(url=None)) is None and printed_link(_run(url="")) is None
    assert not any(line.startswith("  page:") for line in status_lines(_run(url=""), None))


# ---------------------------------------------------------------- the login-code endpoint


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[RunningServer, dict[str, str]]]:
    """A real server with two users and a run each (written with their own keys)."""
    db = f"sqlite:///{tmp_path}/team.db"
    st = open_storage(db.removeprefix("sqlite:///"))
    try:
        keys = {}
        for user in ("alice", "bob"):
            auth.add_user(st, user, [])
            keys[user] = auth.create_key(st, user)[1]
    finally:
        st.close()
    srv = start_server(tmp_path / "srv", db=db, state_file=tmp_path / "state.json")
    upsert = ('mutation($name: String) { upsertBucket(input: {name: $name, modelName: "p"}) '
              "{ bucket { name } } }")
    try:
        for user, key in keys.items():
            r = requests.post(f"{srv.url}/graphql", auth=("api", key), timeout=10, json={
                "query": upsert, "variables": {"name": f"{user}-run"}})
            assert r.status_code == 200 and "errors" not in r.json(), r.text
        yield srv, keys
    finally:
        srv.stop()


def _runs_seen(session: requests.Session, srv: RunningServer) -> set[str]:
    r = session.get(f"{srv.url}/pages/api/runs", timeout=10)
    assert r.status_code == 200, r.text
    return {f"{x['entity']}/{x['id']}" for x in r.json()["runs"]}


def test_login_code_refused_without_a_key(team: tuple[RunningServer, dict[str, str]]) -> None:
    srv, _ = team
    url = f"{srv.url}/api/v1/login-code"
    for kw in ({}, {"auth": ("api", "not-a-key")}, {"auth": ("api", "")}):
        r = requests.post(url, timeout=10, **kw)  # type: ignore[arg-type]
        assert r.status_code == 401 and r.json() == {"error": "unauthorized"}, r.text
        assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(url, auth=srv.auth, timeout=10).status_code == 404  # POST only
    with pytest.raises(ApiError) as refused:
        Api(srv.url, "not-a-key").login_url()
    assert refused.value.status == 401


def test_login_codes_work_once(team: tuple[RunningServer, dict[str, str]]) -> None:
    srv, keys = team
    answer = requests.post(f"{srv.url}/api/v1/login-code", auth=srv.auth, timeout=10).json()
    assert set(answer) == {"code", "login", "expires_in"} and answer["expires_in"] == 900
    assert answer["login"] == f"/pages/login?once={answer['code']}"
    # the admin token's code sees every entity; the link names the page it opens
    link = Api(srv.url, srv.token).login_url("runs/bob/p/bob-run")
    assert link.startswith(f"{srv.url}/pages/login?once=") and srv.token not in link
    browser = requests.Session()
    r = browser.get(link, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == "/pages/runs/bob/p/bob-run"
    assert "HttpOnly" in r.headers["Set-Cookie"] and srv.token not in r.headers["Set-Cookie"]
    assert _runs_seen(browser, srv) == {"alice/alice-run", "bob/bob-run"}
    # spent: another browser gets the login form and how to get a new link
    other = requests.Session()
    r = other.get(link, allow_redirects=False, timeout=10)
    # (the login form sets only its double-submit token, never a session)
    assert r.status_code == 403 and "nbtrack ui" in r.text
    assert "nbtrack_session" not in r.headers.get("Set-Cookie", "")
    assert other.get(f"{srv.url}/pages/api/runs", timeout=10).status_code == 403
    # the browser it logged in opens the same link again without a new login
    r = browser.get(link, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == "/pages/runs/bob/p/bob-run"
    # a key's code sees what the key sees, never more
    alice = requests.Session()
    r = alice.get(Api(srv.url, keys["alice"]).login_url(), allow_redirects=False, timeout=10)
    assert r.status_code == 302 and r.headers["Location"] == "/pages/"
    assert _runs_seen(alice, srv) == {"alice/alice-run"}
    assert alice.get(f"{srv.url}/pages/api/viewer", timeout=10).json()["entity"] == "alice"
    assert keys["alice"] not in Api(srv.url, keys["alice"]).login_url()


def test_login_codes_expire_and_are_bounded(tmp_path: Path) -> None:
    """Codes live in the database (every replica takes them): spent once, expired codes
    refused, and the table capped per kind."""
    from nbtrack.server import sessions

    storage = open_storage(str(tmp_path / "db.sqlite"))
    try:
        admin = auth.Principal("root", None)
        alice = auth.Principal("alice", frozenset({"alice", "t"}), ("t",), "nbk0123")
        expired = sessions.new_code(storage, admin, -1.0)
        assert sessions.spend_code(storage, expired) is None
        fresh = sessions.new_code(storage, alice, 60.0)
        assert sessions.spend_code(storage, fresh) == alice
        assert sessions.spend_code(storage, fresh) is None
        for i in range(12):
            storage.put_secret("code", f"d{i}", "{}", time.time() + 60 + i, 5)
        assert sum(storage.get_secret("code", f"d{i}", False) is not None for i in range(12)) == 5
        assert storage.get_secret("code", "d11", False) == "{}"  # the newest ones stay
    finally:
        storage.close()

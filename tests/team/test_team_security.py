"""The team server's security refusals (issue 19), each asserted with its status and message.

One team server on the session's private PostgreSQL, started as ``docs/deploy.md`` says
(``--no-state-file``, no admin key), users alice (team ``research``) and bob with keys;
a small SQLite server for what lives on the server's disk. Real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import nbtrack
from nbtrack.client.localserver import server_command
from nbtrack.server import auth
from nbtrack.server.storage.url import open_storage
from nbtrack.server.wandb import uploads

from helpers.server import free_port, start_server
from helpers.wait import wait_until, wait_until_up

UPSERT = """mutation($name: String, $project: String, $display: String) {
  upsertBucket(input: {name: $name, modelName: $project, displayName: $display}) {
    bucket { name displayName } } }"""
FILES = """mutation($name: String!, $files: [String!]) {
  createRunFiles(input: {projectName: "p", runName: $name, files: $files}) {
    files { name uploadUrl } } }"""


def admin(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nbtrack.server", "--db", db, *args],
                          capture_output=True, text=True, timeout=60)


@dataclass
class Team:
    url: str
    db: str
    log: Path
    pid: int
    keys: dict[str, str]
    key_ids: dict[str, str]

    def new_key(self, user: str) -> tuple[str, str]:
        st = open_storage(self.db)
        try:
            return auth.create_key(st, user)
        finally:
            st.close()

    def gql(self, key: str, query: str, headers: dict[str, str] | None = None,
            **variables: Any) -> requests.Response:
        return requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables},
                             auth=("api", key), headers=headers, timeout=30)


@pytest.fixture(scope="module")
def team(postgres_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    db = postgres_cluster.create_database()
    keys, key_ids = {}, {}
    st = open_storage(db)
    try:
        for user, teams in (("alice", ["research"]), ("bob", [])):
            auth.add_user(st, user, teams)
            key_ids[user], keys[user] = auth.create_key(st, user)
    finally:
        st.close()
    home = tmp_path_factory.mktemp("team")
    port = free_port()
    log = home / "team.log"
    env = {k: v for k, v in os.environ.items() if k != "NBTRACK_SERVER_TOKEN"}
    with open(log, "ab") as out:
        proc = subprocess.Popen(  # deploy.md's team server: no state file, no admin key
            server_command(["--dir", str(home), "--port", str(port), "--db", db,
                            "--no-state-file"]),
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{url}/healthz", timeout=1).ok
        return False

    try:
        wait_until_up(proc, up, 30, "the team server")
        yield Team(url, db, log, proc.pid, keys, key_ids)
    finally:
        proc.terminate()
        proc.wait(30)


def _login_session(team: Team, key: str) -> requests.Session:
    """A browser-like session logged in to the pages with a one-time code for ``key``."""
    code = requests.post(f"{team.url}/api/v1/login-code", auth=("api", key), timeout=10)
    assert code.status_code == 200, code.text
    s = requests.Session()
    r = s.get(team.url + code.json()["login"], allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    return s


def test_no_principal_less_login_link_on_a_team_server(team: Team) -> None:
    assert team.gql(team.keys["bob"], UPSERT, name="bobs-run", project="p").ok
    text = team.log.read_text()
    assert "(log in with an API key)" in text, text[-2000:]
    assert "once=" not in text  # no login link that would read every team's runs
    r = requests.get(f"{team.url}/pages/login", params={"once": "guess"}, timeout=10)
    assert r.status_code == 403 and "used or has expired" in r.text
    s = _login_session(team, team.keys["alice"])  # a code is bound to the key that asked
    runs = s.get(f"{team.url}/pages/api/runs", timeout=10).json()["runs"]
    assert all(run["entity"] != "bob" for run in runs), runs
    denied = s.get(f"{team.url}/pages/api/runs/bob/p/bobs-run", timeout=10)
    assert denied.status_code == 403 and "not yours" in denied.text


def test_revoking_a_key_ends_its_sessions_codes_and_upload_urls_at_once(team: Team) -> None:
    key_id, key = team.new_key("alice")
    s = _login_session(team, key)
    assert s.get(f"{team.url}/pages/api/runs", timeout=10).status_code == 200
    unspent = requests.post(f"{team.url}/api/v1/login-code", auth=("api", key),
                            timeout=10).json()["login"]
    assert team.gql(key, UPSERT, name="rev", project="p").ok
    files = team.gql(key, FILES, name="rev", files=["a.txt"]).json()
    put_url = files["data"]["createRunFiles"]["files"][0]["uploadUrl"]
    assert requests.put(put_url, data=b"before", timeout=10).status_code == 200

    out = admin(team.db, "key", "revoke", key_id)
    assert out.returncode == 0, out.stderr
    r = s.get(f"{team.url}/pages/api/runs", timeout=10)
    assert r.status_code == 403 and r.json()["error"] == "log in first"
    r = requests.get(team.url + unspent, allow_redirects=False, timeout=10)
    assert r.status_code == 403 and "used or has expired" in r.text
    r = requests.put(put_url, data=b"after", timeout=10)
    assert r.status_code == 403
    assert r.json()["error"] == "the key this upload URL was made for is revoked"
    assert team.gql(key, UPSERT, name="rev", project="p").status_code == 401


def test_upload_urls_are_short_lived_and_bound_to_one_path(team: Team) -> None:
    key = team.keys["alice"]
    assert team.gql(key, UPSERT, name="up", project="p").ok
    files = team.gql(key, FILES, name="up", files=["a.txt", "b.txt"]).json()
    url_a, url_b = (f["uploadUrl"] for f in files["data"]["createRunFiles"]["files"])
    query_a = urllib.parse.urlsplit(url_a).query
    expires = int(urllib.parse.parse_qs(query_a)["expires"][0])
    assert 0 < expires - time.time() <= uploads.URL_TTL <= 3600  # minutes, not 24 h
    path_b = urllib.parse.urlsplit(url_b).path
    swapped = f"{team.url}{path_b}?{query_a}"  # a's signature on b's path
    r = requests.put(swapped, data=b"x", timeout=10)
    assert r.status_code == 403 and r.json()["error"] == "invalid or expired upload signature"
    later = re.sub(r"expires=\d+", f"expires={expires + 86400}", url_a)  # stretched
    r = requests.put(later, data=b"x", timeout=10)
    assert r.status_code == 403 and r.json()["error"] == "invalid or expired upload signature"
    assert requests.put(url_a, data=b"x", timeout=10).status_code == 200


def test_graphql_depth_alias_and_fragment_expansion_limits(team: Team) -> None:
    key = team.keys["alice"]
    frags = ["fragment F0 on User { id name }"] + [
        f"fragment F{i} on User {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 40)]
    doubling = "query { viewer { ...F39 } } " + " ".join(frags)
    assert len(doubling) < 1700  # the 1.6 KB query of the issue: 2**40 fields expanded
    start = time.monotonic()
    r = team.gql(key, doubling)
    took = time.monotonic() - start
    assert r.status_code == 200 and r.json()["data"] is None
    assert r.json()["errors"][0]["message"].startswith(
        "query too large: more than 5000 fields with fragments expanded")
    assert took < 5  # it used to take 54 s of CPU; now it is refused before any is spent

    deep = "query { viewer " + "{ teams " * 25 + "{ id }" + " }" * 25 + " }"
    msg = team.gql(key, deep).json()["errors"][0]["message"]
    assert msg == "query too deep: more than 20 levels of fields with fragments expanded"
    aliases = "query { " + " ".join(f"a{i}: viewer {{ id }}" for i in range(300)) + " }"
    msg = team.gql(key, aliases).json()["errors"][0]["message"]
    assert msg == "too many aliases: more than 200 with fragments expanded"
    cycle = "query { viewer { ...A } } fragment A on User { ...B } fragment B on User { ...A }"
    assert "a cycle" in team.gql(key, cycle).json()["errors"][0]["message"]
    ok = team.gql(key, "query { viewer { ...F2 } } " + " ".join(frags[:3])).json()
    assert ok["data"]["viewer"]["name"] == "alice"  # small fragments still answer


def _peak_rss_kb(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+)", text).group(1))  # type: ignore[union-attr]


def test_json_bodies_have_bounded_memory_and_nesting(team: Team) -> None:
    key = team.keys["alice"]
    peak = _peak_rss_kb(team.pid)
    empties = b"[" + b"{}," * (31 * 1024 * 1024 // 3 - 1) + b"{}]"
    r = requests.post(f"{team.url}/graphql", data=empties, auth=("api", key), timeout=60,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert re.fullmatch(r"the JSON body holds \d+ values, the limit is 1000000",
                        r.json()["error"]), r.text
    assert _peak_rss_kb(team.pid) - peak < 200_000  # it took the server to 836 MB
    deep = b"[" * 100_000 + b"]" * 100_000
    for path in ("/graphql", "/files/alice/p/up/file_stream"):
        r = requests.post(team.url + path, data=deep, auth=("api", key), timeout=60)
        assert r.status_code == 400, path  # an answer, not a dropped connection
        assert r.json()["error"] == "the JSON body nests deeper than 64 levels"
    r = requests.post(f"{team.url}/graphql", data=b'{"query": [[[', auth=("api", key),
                      timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "the body is not valid JSON"
    # the same JSON inside strings, where the body's own bounds cannot see it
    assert team.gql(key, UPSERT, name="up", project="p").ok
    stream = f"{team.url}/files/alice/p/up/file_stream"
    for line, says in ((b"[" * 100_000 + b"]" * 100_000, "nests deeper than 65 levels"),
                       (b'{"a": [' + b"{}," * 2_000_000 + b"{}]}", "values, the limit is")):
        body = {"files": {"wandb-history.jsonl": {"offset": 0, "content": [line.decode()]}}}
        r = requests.post(stream, json=body, auth=("api", key), timeout=60)
        assert r.status_code == 400 and says in r.json()["error"], r.text[:300]
        assert r.json()["error"].startswith("files['wandb-history.jsonl']: the lines' JSON")
    deep_config = "[" * 100_000 + "]" * 100_000
    r = team.gql(key, """mutation($c: JSONString) { upsertBucket(input: {name: "up",
        modelName: "p", config: $c}) { bucket { name } } }""", c=deep_config)
    assert r.json()["errors"][0]["message"] == \
        "invalid config: its JSON nests deeper than 64 levels"
    assert _peak_rss_kb(team.pid) - peak < 200_000


def test_foreign_origins_are_refused_before_credentials(team: Team) -> None:
    key = team.keys["alice"]
    body = '{"query": "mutation { upsertBucket(input: {name: \\"csrf\\"}) { inserted } }"}'
    for headers in ({"Origin": "http://evil.example", "Content-Type": "text/plain"},
                    {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        r = requests.post(f"{team.url}/graphql", data=body, auth=("api", key), headers=headers,
                          timeout=10)
        assert r.status_code == 403, headers
        assert r.json()["error"].startswith("cross-"), r.text
    assert r.json()["error"] == "cross-site request refused (Sec-Fetch-Site: cross-site)"
    r = requests.post(f"{team.url}/graphql", data=body, auth=("api", key), timeout=10,
                      headers={"Origin": "http://evil.example"})
    assert r.json()["error"] == "cross-origin request refused: Origin 'http://evil.example' is " \
        "not this server"
    same = requests.post(f"{team.url}/graphql", data=body, auth=("api", key), timeout=10,
                         headers={"Origin": team.url, "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200 and same.json()["data"]["upsertBucket"]["inserted"]
    r = requests.put(f"{team.url}/storage/alice/p/csrf/x.txt", data=b"x", auth=("api", key),
                     headers={"Origin": "http://evil.example"}, timeout=10)
    assert r.status_code == 403 and "is not this server" in r.json()["error"]


def test_login_form_needs_its_own_token_and_origin(team: Team) -> None:
    key = team.keys["bob"]
    login = f"{team.url}/pages/login"
    # login CSRF: a foreign page posts its owner's key into the victim's browser
    r = requests.post(login, data={"token": key}, headers={"Origin": "http://evil.example"},
                      allow_redirects=False, timeout=10)
    assert r.status_code == 403 and "is not this server" in r.json()["error"]
    r = requests.post(login, data={"token": key}, headers={"Origin": "null"},
                      allow_redirects=False, timeout=10)  # no form token: refused too
    assert r.status_code == 403 and "The login form expired or came from another site" in r.text
    assert "nbtrack_session" not in r.headers.get("Set-Cookie", "")
    s = requests.Session()
    page = s.get(login, timeout=10)
    assert "SameSite=Strict" in page.headers["Set-Cookie"]
    field = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert field is not None
    other = requests.Session()  # another browser, with its own token, posting this one's
    other_field = re.search(r'name="csrf" value="([^"]+)"', other.get(login, timeout=10).text)
    assert other_field is not None and other_field.group(1) != field.group(1)
    r = other.post(login, data={"token": key, "csrf": field.group(1)},
                   allow_redirects=False, timeout=10)
    assert r.status_code == 403 and "nbtrack_session" not in r.headers.get("Set-Cookie", "")
    # the form posted from its own page (a browser sends Origin: null: no-referrer policy)
    r = s.post(login, data={"token": key, "csrf": field.group(1)}, headers={"Origin": "null"},
               allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "nbtrack_session=" in r.headers["Set-Cookie"]


def test_run_and_project_names_are_validated(team: Team) -> None:
    key = team.keys["alice"]
    cases = [
        ({"name": "   "}, "invalid name '   ': it is empty or only spaces"),
        ({"name": "r" * 300}, f"invalid name '{'r' * 40}...': it is 300 characters long, "
                              "the limit is 128"),
        ({"name": "ok", "project": "p\x1b[2J"}, "invalid modelName 'p\\x1b[2J': it holds the "
                                                "control character '\\x1b'"),
        ({"name": "ok", "display": "   "}, "invalid displayName '   ': it is empty or only "
                                            "spaces"),
        ({"name": "ok", "display": "line\nbreak"}, "invalid displayName 'line\\nbreak': it "
                                                   "holds the control character '\\n'"),
    ]
    for variables, message in cases:
        r = team.gql(key, UPSERT, **variables)
        assert r.status_code == 200 and r.json()["data"]["upsertBucket"] is None, variables
        assert r.json()["errors"][0]["message"] == message
    ok = team.gql(key, UPSERT, name="r" * 128, project="p", display="a fine name").json()
    assert ok["data"]["upsertBucket"]["bucket"]["displayName"] == "a fine name"


def test_secrets_from_a_file_and_argv_warns(tmp_path: Path) -> None:
    secret = "s3cret-" + "a" * 33
    (tmp_path / "token").write_text(secret + "\n")
    (tmp_path / "token").chmod(0o644)
    srv = start_server(tmp_path / "argv")  # the test helper passes --token on argv
    try:
        viewer = requests.get(f"{srv.url}/api/v1/viewer", auth=srv.auth, timeout=10)
        assert viewer.status_code == 200
    finally:
        srv.stop()
    log = (tmp_path / "argv" / "server" / "test-server.log").read_text()
    assert "--token on the command line is visible to every user of this machine (ps ax)" in log
    port = free_port()
    with open(tmp_path / "file.log", "ab") as out:
        proc = subprocess.Popen(server_command(
            ["--dir", str(tmp_path / "file"), "--port", str(port), "--token-file",
             str(tmp_path / "token")]), stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(url), timeout=30, message="the --token-file server")
        r = requests.get(f"{url}/api/v1/viewer", auth=("api", secret), timeout=10)
        assert r.status_code == 200
        assert secret not in " ".join(Path(f"/proc/{proc.pid}/cmdline").read_text().split("\0"))
        warned = (tmp_path / "file.log").read_text()
        assert "can be read by other users (mode 644): chmod 600 it" in warned
        (tmp_path / "token").chmod(0o600)
        cli = subprocess.run([sys.executable, "-m", "nbtrack", "runs", "--base-url", url,
                              "--api-key-file", str(tmp_path / "token")],
                             capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0 and "warning" not in cli.stderr, cli.stderr
        cli = subprocess.run([sys.executable, "-m", "nbtrack", "runs", "--base-url", url,
                              "--api-key", secret], capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0
        assert "--api-key on the command line is visible to every user" in cli.stderr
    finally:
        proc.terminate()
        proc.wait(30)
    (tmp_path / "empty").write_text("\n")
    bad = subprocess.run(server_command(["--dir", str(tmp_path / "bad"), "--token-file",
                                         str(tmp_path / "empty")]),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "--token-file" in bad.stderr and "is empty" in bad.stderr


def _answers(url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{url}/healthz", timeout=1).ok
    return False


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_under_the_data_directories_are_private(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "srv")
    try:
        r = requests.post(f"{srv.url}/graphql", json={"query": UPSERT, "variables": {
            "name": "f", "project": "p"}}, auth=srv.auth, timeout=10)
        assert r.ok
        url = requests.post(f"{srv.url}/graphql", json={"query": FILES, "variables": {
            "name": "f", "files": ["dir/a.txt"]}}, auth=srv.auth, timeout=10).json()
        put = url["data"]["createRunFiles"]["files"][0]["uploadUrl"]
        assert requests.put(put, data=b"secret", timeout=10).status_code == 200
    finally:
        srv.stop()
    server_dir = tmp_path / "srv" / "server"
    assert _mode(server_dir) == 0o700
    found = [p for p in server_dir.rglob("*") if p.name != "test-server.log"]
    assert any(p.name == "nbtrack.db" for p in found) and any(p.name == "a.txt" for p in found)
    for p in found:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), (p, oct(_mode(p)))


def test_the_kernel_side_data_directory_is_private(nbtrack_dir: Path) -> None:
    from nbtrack.client.localserver import ensure_local_server, stop_local_server

    info = ensure_local_server(nbtrack_dir)
    try:
        assert _mode(nbtrack_dir / "server") == 0o700
        assert _mode(nbtrack_dir / "server" / "server.log") == 0o600  # it holds a login link
        run = nbtrack.init(project="modes", mode="offline")
        run.log({"x": 1})
        run.finish()
        for d in (run.log_path.parent, run.log_path.parent.parent):
            assert _mode(d) == 0o700, d
    finally:
        stop_local_server(nbtrack_dir)
    assert info.url.startswith("http://127.0.0.1:")


def test_a_key_revoked_mid_run_finish_says_not_stored_and_how_to_sync(
        team: Team, nbtrack_dir: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    key_id, key = team.new_key("alice")
    run = nbtrack.init(project="revoked", mode="online", base_url=team.url, api_key=key)
    for i in range(100):
        run.log({"i": i})

    def rows() -> list[Any]:
        return list(nbtrack.Api(team.url, team.keys["alice"]).run(run.path).history())

    wait_until(lambda: len(rows()) == 100, timeout=30, message="the first 100 rows stored")
    assert admin(team.db, "key", "revoke", key_id).returncode == 0
    for i in range(100, 300):  # over ~4 s: several posts (one a second), each refused
        run.log({"i": i})
        if i % 50 == 49:
            time.sleep(1.2)
    run.finish(timeout=60)
    err = capsys.readouterr().err
    assert f"nbtrack: run {run.name} was NOT stored on the server" in err, err
    assert "the server refused the API key" in err and "revoked" in err
    assert f"NBTRACK_API_KEY=<a new key> nbtrack sync {run.log_path}" in err
    assert err.count("refused") < 10  # one clear message, not a line per refused post
    logged = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert len(logged) <= 4, [r.getMessage() for r in logged]  # one a post: 14 here
    sync = subprocess.run([sys.executable, "-m", "nbtrack", "sync", str(run.log_path)],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, NBTRACK_BASE_URL=team.url,
                                   NBTRACK_API_KEY=team.keys["alice"]))
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert sorted(row["i"] for row in rows()) == list(range(300))  # each row once
    assert nbtrack.Api(team.url, team.keys["alice"]).run(run.path).state == "finished"


def test_in_chromium_the_login_form_works_and_a_foreign_form_cannot_log_in(
        team: Team, tmp_path: Path) -> None:
    from helpers.browser import PageErrors, chromium, static_server

    key = team.keys["bob"]
    code = requests.post(f"{team.url}/api/v1/login-code", auth=("api", key), timeout=10)
    (tmp_path / "link.html").write_text(  # login CSRF with bob's one-time link
        f'<script>location = "{team.url}{code.json()["login"]}"</script>')
    (tmp_path / "evil.html").write_text(  # login CSRF: logs the visitor in as bob
        f'<form id="f" method="post" action="{team.url}/pages/login">'
        f'<input name="token" value="{key}"><input name="next" value="/pages/"></form>'
        '<script>document.getElementById("f").submit()</script>')
    with chromium() as browser, static_server(tmp_path) as evil:
        ctx = browser.new_context()
        try:
            page = ctx.new_page()
            errors = PageErrors(page)
            answer = page.goto(f"{evil.replace('127.0.0.1', 'localhost')}/evil.html")
            page.wait_for_url(f"{team.url}/pages/login", timeout=20000)
            assert "cross-site request refused (Sec-Fetch-Site: cross-site)" in page.content()
            assert not [c for c in ctx.cookies() if c["name"] == "nbtrack_session"]
            page.goto(f"{evil.replace('127.0.0.1', 'localhost')}/link.html")
            page.wait_for_selector("body[data-view=confirm-login]", timeout=20000)
            assert not [c for c in ctx.cookies() if c["name"] == "nbtrack_session"]
            page.goto(f"{team.url}/pages/")  # not logged in: the form, which works
            page.fill("input[name=token]", key)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert page.url == f"{team.url}/pages/", page.content()[:500]
            assert [c for c in ctx.cookies() if c["name"] == "nbtrack_session"]
            errors.check()
            assert answer is not None
        finally:
            ctx.close()


def test_a_login_link_opened_from_another_site_asks_first(team: Team) -> None:
    login = requests.post(f"{team.url}/api/v1/login-code", auth=("api", team.keys["bob"]),
                          timeout=10).json()["login"]
    s = requests.Session()
    r = s.get(team.url + login, headers={"Sec-Fetch-Site": "cross-site"},
              allow_redirects=False, timeout=10)
    assert r.status_code == 200 and "Log in to the run pages?" in r.text
    assert "nbtrack_session" not in r.headers["Set-Cookie"]  # only the form's token
    once = urllib.parse.parse_qs(urllib.parse.urlsplit(login).query)["once"][0]
    assert f'name="once" value="{once}"' in r.text  # not spent: the button posts it back
    field = re.search(r'name="csrf" value="([^"]+)"', r.text)
    assert field is not None
    r = s.post(f"{team.url}/pages/login", data={"once": once, "csrf": field.group(1)},
               headers={"Origin": "null"}, allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "nbtrack_session=" in r.headers["Set-Cookie"]
    assert s.get(f"{team.url}/pages/api/runs", timeout=10).status_code == 200


def test_the_kernel_refuses_a_bad_run_name_before_anything_starts(nbtrack_dir: Path) -> None:
    for name, message in (("   ", "name='   ': it is empty or only spaces"),
                          ("x" * 300, f"name='{'x' * 40}...': it is 300 characters long, "
                                      "the limit is 128"),
                          ("a\x1b[2Jb", "name='a\\x1b[2Jb': it holds the control character "
                                        "'\\x1b'")):
        with pytest.raises(ValueError) as e:
            nbtrack.init(project="p", name=name, mode="offline")
        assert str(e.value) == message
    assert not list(nbtrack_dir.rglob("*.nbtrack"))  # no run was started

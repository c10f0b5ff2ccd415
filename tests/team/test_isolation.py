"""Accounts on a real server: each key sees and writes only its own entity and its teams."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from nbtrack.server import auth
from nbtrack.server.storage.url import open_storage

from helpers.server import RunningServer, start_server

UPSERT = """mutation($name: String, $entity: String) {
  upsertBucket(input: {name: $name, modelName: "p", entityName: $entity}) {
    bucket { name project { entity { name } } } } }"""
RESUME = """query($entity: String, $name: String!) {
  model(name: "p", entityName: $entity) { bucket(name: $name, missingOk: true) {
    name historyLineCount } } }"""
FILES = """mutation($entity: String, $name: String!) {
  createRunFiles(input: {entityName: $entity, projectName: "p", runName: $name,
                         files: ["a.txt"]}) { files { name uploadUrl } } }"""


def cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nbtrack.server", "--db", db, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class Team:
    server: RunningServer
    db: str
    keys: dict[str, str]
    key_ids: dict[str, str]

    def post(self, who: str, query: str, **variables: Any) -> requests.Response:
        return requests.post(
            f"{self.server.url}/graphql",
            json={"query": query, "variables": variables},
            auth=("api", self.keys[who]),
            timeout=10,
        )

    def get(self, who: str, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.server.url}/api/v1/{path}",
            params=params,
            auth=("api", self.keys[who]),
            timeout=10,
        )

    def stream(self, who: str, path: str, offset: int = 0) -> requests.Response:
        body = {"files": {"wandb-history.jsonl": {"offset": offset, "content": ['{"_step": 0}']}}}
        return requests.post(
            f"{self.server.url}/files/{path}/file_stream",
            json=body,
            auth=("api", self.keys[who]),
            timeout=10,
        )


@pytest.fixture(params=["sqlite", "postgres"])
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    if request.param == "postgres":
        db = request.getfixturevalue("postgres_cluster").create_database()
    else:
        db = f"sqlite:///{tmp_path}/team.db"
    keys, key_ids = {}, {}
    st = open_storage(db.removeprefix("sqlite:///"))
    try:
        for user, teams in (("alice", ["research"]), ("carol", ["research"]), ("bob", [])):
            auth.add_user(st, user, teams)
            key_ids[user], keys[user] = auth.create_key(st, user)
    finally:
        st.close()
    srv = start_server(tmp_path / "srv", db=db, state_file=tmp_path / "state.json")
    try:
        yield Team(srv, db, keys, key_ids)
    finally:
        srv.stop()


def test_cli_creates_users_and_keys_printed_once(team: Team) -> None:
    out = cli(team.db, "user", "add", "dave", "--team", "research")
    assert out.returncode == 0 and "created user dave (teams: research)" in out.stdout
    out = cli(team.db, "key", "create", "dave")
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip()
    key_id = out.stderr.split("key id: ")[1].split()[0]
    assert key.startswith(key_id + "-") and len(key.split("-")[1]) == 40
    r = requests.get(f"{team.server.url}/api/v1/viewer", auth=("api", key), timeout=10)
    assert r.json()["entity"] == "dave" and r.json()["teams"] == ["research"]
    listing = cli(team.db, "key", "list").stdout
    assert key_id in listing and key not in listing
    assert team.key_ids["alice"] in listing and team.keys["alice"] not in listing
    users = cli(team.db, "user", "list").stdout
    assert "alice\tresearch" in users and "bob\t" in users


def test_a_user_reads_and_writes_only_their_own_entity(team: Team) -> None:
    ok = team.post("alice", UPSERT, name="r1")  # no entity: the caller's own
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    assert ok.json()["data"]["upsertBucket"]["bucket"]["project"]["entity"]["name"] == "alice"
    assert team.stream("alice", "alice/p/r1").status_code == 200
    viewer = team.post("alice", "{ viewer { entity teams { edges { node { name } } } } }").json()
    assert viewer["data"]["viewer"]["entity"] == "alice"
    assert team.get("alice", "viewer").json()["teams"] == ["research"]

    # bob can't write, resume, stream, read, list or upload into alice's entity
    for query, variables in (
        (UPSERT, {"name": "r1"}),
        (RESUME, {"name": "r1"}),
        (FILES, {"name": "r1"}),
        (UPSERT, {"name": "new"}),
    ):
        r = team.post("bob", query, entity="alice", **variables)
        assert r.status_code == 403, r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert team.stream("bob", "alice/p/r1", offset=1).status_code == 403
    assert team.stream("bob", "alice/p/never-existed").status_code == 403  # same answer
    for path in (
        "runs/alice/p/r1",
        "runs/alice/p/r1/history",
        "runs/alice/p/r1/files",
        "runs/alice/p/nope",
    ):
        assert team.get("bob", path).status_code == 403, path
    assert team.get("bob", "runs", entity="alice").status_code == 403
    assert team.get("bob", "runs").json()["runs"] == []
    put = requests.put(
        f"{team.server.url}/storage/alice/p/r1/x.txt",
        data=b"x",
        auth=("api", team.keys["bob"]),
        timeout=10,
    )
    assert put.status_code == 403
    # nothing of bob's attempts reached alice's run
    run = team.get("alice", "runs/alice/p/r1").json()
    assert run["history_line_count"] == 1
    assert [r["id"] for r in team.get("alice", "runs").json()["runs"]] == ["r1"]
    assert team.get("alice", "runs/alice/p/new").status_code == 404


def test_team_members_share_the_team_entity(team: Team) -> None:
    r = team.post("alice", UPSERT, name="shared", entity="research")
    assert r.status_code == 200 and "errors" not in r.json(), r.text
    assert team.stream("carol", "research/p/shared").status_code == 200
    got = team.post("carol", RESUME, entity="research", name="shared").json()
    assert got["data"]["model"]["bucket"]["historyLineCount"] == 1
    assert {r["id"] for r in team.get("carol", "runs").json()["runs"]} == {"shared"}
    assert team.post("bob", RESUME, entity="research", name="shared").status_code == 403
    assert team.get("bob", "runs/research/p/shared").status_code == 403


def test_revoked_and_wrong_keys_are_refused_alike(team: Team) -> None:
    assert team.get("bob", "viewer").status_code == 200
    out = cli(team.db, "key", "revoke", team.key_ids["bob"])
    assert out.returncode == 0, out.stderr
    assert cli(team.db, "key", "revoke", team.key_ids["bob"]).returncode == 1
    answers = []
    alice_id, alice_secret = team.keys["alice"].split("-")
    for key in (
        team.keys["bob"],  # revoked
        f"{alice_id}-{'0' * 40}",  # a real key id, a wrong secret
        f"nbk000000000000-{alice_secret}",  # an unknown key id
        "0" * 40,  # not a key at all
        team.keys["alice"][:-1],
    ):
        r = requests.get(f"{team.server.url}/api/v1/viewer", auth=("api", key), timeout=10)
        answers.append((r.status_code, r.text, r.headers.get("WWW-Authenticate")))
    assert len(set(answers)) == 1 and answers[0][0] == 401
    assert team.get("alice", "viewer").status_code == 200  # other keys keep working


def test_cli_refuses_bad_names_and_unknown_users(team: Team) -> None:
    assert cli(team.db, "user", "add", "Not Valid").returncode == 2
    assert cli(team.db, "key", "create", "nobody").returncode == 2
    assert cli(team.db, "user", "add", "dave", "--team", "alice").returncode == 2  # a user
    assert cli(team.db, "user", "add", "research").returncode == 2  # a team

"""nbtrack's own client against a PostgreSQL team server, with an account key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import nbtrack
from nbtrack.server import auth
from nbtrack.server.storage.url import open_storage

from helpers.postgres import PostgresCluster
from helpers.server import RunningServer, start_server


@pytest.fixture
def pg_team(
    postgres_cluster: PostgresCluster, tmp_path: Path
) -> Iterator[tuple[RunningServer, dict[str, str]]]:
    db = postgres_cluster.create_database()
    st = open_storage(db)
    try:
        auth.add_user(st, "alice", ["research"])
        auth.add_user(st, "bob", [])
        keys = {u: auth.create_key(st, u)[1] for u in ("alice", "bob")}
    finally:
        st.close()
    srv = start_server(tmp_path / "srv", db=db, state_file=tmp_path / "state.json")
    try:
        yield srv, keys
    finally:
        srv.stop()


def test_a_notebook_logs_with_its_key_and_reads_back_only_its_runs(
    nbtrack_dir: Path, pg_team: tuple[RunningServer, dict[str, str]]
) -> None:
    srv, keys = pg_team
    run = nbtrack.init(project="p", mode="online", base_url=srv.url, api_key=keys["alice"])
    for i in range(500):
        run.log({"loss": 1.0 / (i + 1)})
    run.finish(timeout=60, quiet=True)
    assert run.state == "finished" and run.entity in ("alice", "")
    shared = nbtrack.init(
        project="p", mode="online", base_url=srv.url, api_key=keys["alice"], entity="research"
    )
    shared.log({"x": 1})
    shared.finish(timeout=60, quiet=True)
    assert shared.state == "finished"

    alice = nbtrack.Api(srv.url, keys["alice"])
    steps = [r["_step"] for r in alice.run(f"alice/p/{run.id}").history()]
    assert steps == list(range(500))
    bob = nbtrack.Api(srv.url, keys["bob"])
    with pytest.raises(Exception):  # noqa: B017  (403: not bob's entity)
        bob.run(f"alice/p/{run.id}").history()


def test_a_notebook_cannot_log_into_another_users_entity(
    nbtrack_dir: Path, pg_team: tuple[RunningServer, dict[str, str]]
) -> None:
    srv, keys = pg_team
    try:
        run = nbtrack.init(
            project="p", mode="online", base_url=srv.url, api_key=keys["bob"], entity="alice"
        )
    except Exception as e:  # init refuses: the server answered 403
        assert "403" in str(e) or "permission" in str(e).lower(), e
    else:
        run.log({"x": 1})
        run.finish(timeout=30, quiet=True)
        pytest.fail(f"bob logged into alice's entity: {run.state}")
    assert nbtrack.Api(srv.url, keys["alice"]).runs(project="p", entity="alice") == []

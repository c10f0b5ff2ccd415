"""Schema migrations upgrade an existing database in place, on both backends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from nbtrack.server.storage import postgres_migrations as storage_postgres
from nbtrack.server.storage import sqlite_migrations as storage_sqlite
from nbtrack.server.storage.base import SCHEMA_VERSION
from nbtrack.server.storage.url import open_storage

from helpers.postgres import PostgresCluster


def test_every_backend_has_every_migration() -> None:
    assert len(storage_sqlite.MIGRATIONS) == len(storage_postgres.MIGRATIONS) == SCHEMA_VERSION


def _v1_run_sqlite(db: Path) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    assert storage_sqlite.migrate(conn, upto=1) == 1
    conn.execute(
        "INSERT INTO runs (entity, project, name, created_at, updated_at, heartbeat_at,"
        " history_line_count, last_step) VALUES ('alice', 'p', 'r', 1, 1, 1, 1, 0)"
    )
    conn.execute("INSERT INTO history (rid, line, step, data) VALUES (1, 0, 0, '{\"_step\": 0}')")
    conn.close()


def test_sqlite_v1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _v1_run_sqlite(db)
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert "runs" in tables and "api_keys" not in tables
    st = open_storage(str(db))
    try:
        assert st.schema_version == SCHEMA_VERSION
        run = st.get_run("alice", "p", "r")
        assert run is not None and st.history(int(run["rid"]), None, None) == ['{"_step": 0}']
        assert st.add_user("alice") and st.get_user("alice") is not None  # v2 tables work
    finally:
        st.close()
    ver = sqlite3.connect(db).execute("SELECT version FROM schema_version").fetchall()
    assert ver == [(SCHEMA_VERSION,)]
    open_storage(str(db)).close()  # opening again applies nothing


def test_postgres_v1_database_is_upgraded_in_place(postgres_cluster: PostgresCluster) -> None:
    url = postgres_cluster.create_database(empty=True)
    with psycopg.connect(url, autocommit=True) as conn:
        assert storage_postgres.migrate(conn, upto=1) == 1
        conn.execute(
            "INSERT INTO runs (entity, project, name, created_at, updated_at, heartbeat_at,"
            " history_line_count, last_step) VALUES ('alice', 'p', 'r', 1, 1, 1, 1, 0)"
        )
        conn.execute(
            "INSERT INTO history (rid, line, step, data) VALUES (1, 0, 0, '{\"_step\": 0}')"
        )
        assert conn.execute("SELECT to_regclass('api_keys')").fetchone() == (None,)
    st = open_storage(url)
    try:
        assert st.schema_version == SCHEMA_VERSION
        run = st.get_run("alice", "p", "r")
        assert run is not None and st.history(int(run["rid"]), None, None) == ['{"_step": 0}']
        assert st.add_user("alice") and not st.add_user("alice")
    finally:
        st.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_postgres_newer_schema_is_refused(postgres_url: str) -> None:
    open_storage(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(RuntimeError, match="newer"):
        open_storage(postgres_url)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_storage_contract(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The same calls give the same answers on both backends."""
    url = str(tmp_path / "s.db") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    st = open_storage(url)
    try:
        run, inserted = st.upsert_run("e", "p", "r", {"config": "{}", "bogus": 1}, None)
        assert inserted and run["state"] == "running"
        again, inserted = st.upsert_run("e", "p", "r", {"display_name": "x"}, "finished")
        assert not inserted and again["state"] == "finished" and again["display_name"] == "x"
        rid = int(run["rid"])
        lines = [f'{{"_step": {s}, "a": {s}}}' for s in range(10)]
        st.append_lines(rid, "wandb-history.jsonl", 0, lines[:6])
        st.append_lines(rid, "wandb-history.jsonl", 4, lines[4:])
        st.append_lines(rid, "wandb-history.jsonl", 0, ['{"_step": 999}'])  # ignored
        st.append_lines(rid, "output.log", 0, ["a", "b\x00c"])
        st.append_lines(rid, "custom.txt", 0, ["x"])
        assert st.history(rid, None, None) == lines
        assert st.history(rid, 3, 4) == lines[3:5]
        assert st.tail(rid, "wandb-history.jsonl", 2) == lines[8:]
        assert st.lines(rid, "output.log")[0] == "a" and st.lines(rid, "custom.txt") == ["x"]
        got = st.get_run("e", "p", "r")
        assert got is not None
        assert (got["history_line_count"], got["last_step"], got["log_line_count"]) == (10, 9, 2)
        st.record_file(rid, "f.txt", 3)
        st.record_file(rid, "f.txt", 4)
        assert [(f["name"], f["size"]) for f in st.list_files(rid)] == [("f.txt", 4)]
        st.upsert_run("other", "p", "r2", {}, None)
        assert {r["name"] for r in st.list_runs(None, None)} == {"r", "r2"}
        assert [r["name"] for r in st.list_runs(None, None, {"other"})] == ["r2"]
        assert st.list_runs(None, None, set()) == []
        st.add_user("u")
        st.add_member("team", "u")
        assert st.teams_of("u") == ["team"]
        st.add_key("nbk1", "u", "h")
        assert st.find_key("nbk1")["key_hash"] == "h"  # type: ignore[index]
        assert st.revoke_key("nbk1") and not st.revoke_key("nbk1")
        assert st.list_keys("u")[0]["revoked_at"] is not None
    finally:
        st.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_order_rule_on_both_backends(backend: str, tmp_path: Path,
                                         request: pytest.FixtureRequest) -> None:
    """An update older than the one that set a field last is ignored; a finished run is
    reopened only by a newer update (a resume); updates without a number apply as before."""
    url = str(tmp_path / "s.db") if backend == "sqlite" else request.getfixturevalue("postgres_url")
    st = open_storage(url)
    try:
        run, _ = st.upsert_run("e", "p", "r", {"config": '{"v": 1}', "tags": '["a"]'}, None, 10)
        rid = int(run["rid"])
        st.upsert_run("e", "p", "r", {"config": '{"v": 3}'}, None, 30)
        st.set_summary(rid, '{"s": 4}', 40)
        st.finish_run(rid, 0, 50)
        # late copies of older requests: a config upsert (no state), a summary, a crash mark
        late, _ = st.upsert_run("e", "p", "r", {"config": '{"v": 2}', "tags": '["old"]'},
                                None, 20)
        st.set_summary(rid, '{"s": 3}', 35)
        st.upsert_run("e", "p", "r", {}, "crashed", 45)
        got = st.get_run("e", "p", "r")
        assert got is not None
        assert (got["config"], got["tags"], got["summary"]) == ('{"v": 3}', '["a"]', '{"s": 4}')
        assert (got["state"], got["exit_code"]) == ("finished", 0)
        assert late["state"] == "finished"
        # the same request again (a retry) applies: equal numbers are the same update
        st.set_summary(rid, '{"s": 4}', 40)
        # a resume: newer than the finish, it reopens the run
        resumed, _ = st.upsert_run("e", "p", "r", {"config": '{"v": 5}'}, None, 60)
        assert (resumed["state"], resumed["config"]) == ("running", '{"v": 5}')
        st.finish_run(rid, 1, 70)
        # no number (the official client): applied as it arrives, and reopens the run
        plain, _ = st.upsert_run("e", "p", "r", {"config": '{"v": 0}'}, None)
        assert (plain["state"], plain["config"]) == ("running", '{"v": 0}')
        st.set_summary(rid, '{"s": 0}')
        got = st.get_run("e", "p", "r")
        assert got is not None and got["summary"] == '{"s": 0}'
        # the numbers it kept are the newest seen
        assert (got["config_seq"], got["summary_seq"], got["state_seq"]) == (60, 40, 70)
    finally:
        st.close()

"""SQLite storage, without HTTP."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from nbtrack.server.storage.base import SCHEMA_VERSION
from nbtrack.server.storage.base import step_of as _step_of
from nbtrack.server.storage.sqlite import SqliteStorage
from nbtrack.server.storage.url import open_storage


@pytest.mark.parametrize(
    ("line", "step"),
    [
        ('{"_step": 7, "a": 1}', 7),
        ('{"a": 1, "_step":-2}', -2),
        ('{"_step": 5.0}', 5),
        ('{"a": {"_step": 3}, "_step": 5}', 5),
        ('{"x": "\\"_step\\": 4"}', None),
        ('{"_step": "9"}', None),
        ("not json", None),
        ('{"_step": true}', None),
    ],
)
def test_step_extraction(line: str, step: int | None) -> None:
    assert _step_of(line) == step


def test_lines_are_idempotent_and_survive_reopening(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    st = SqliteStorage(db)
    run, inserted = st.upsert_run("e", "p", "r", {"config": "{}"}, None)
    assert inserted and run["state"] == "running"
    rid = int(run["rid"])
    lines = [json.dumps({"_step": s}) for s in range(10)]
    st.append_lines(rid, "wandb-history.jsonl", 0, lines[:6])
    st.append_lines(rid, "wandb-history.jsonl", 4, lines[4:])
    st.append_lines(rid, "wandb-history.jsonl", 0, ['{"_step": 999}'])  # line 0 exists: ignored
    st.close()
    st = SqliteStorage(db)
    assert st.history(rid, None, None) == lines
    assert st.history(rid, 3, 4) == lines[3:5]
    run2 = st.get_run("e", "p", "r")
    assert run2 is not None and (run2["history_line_count"], run2["last_step"]) == (10, 9)
    assert st.tail(rid, "wandb-history.jsonl", 3) == lines[7:]
    ver = sqlite3.connect(db).execute("SELECT version FROM schema_version").fetchall()
    assert ver == [(SCHEMA_VERSION,)]
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SqliteStorage(db).close()
    with sqlite3.connect(db) as c:
        c.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(RuntimeError, match="newer"):
        SqliteStorage(db)


def test_open_storage_urls(tmp_path: Path) -> None:
    assert open_storage(f"sqlite:///{tmp_path}/a.db").path == tmp_path / "a.db"
    assert open_storage(str(tmp_path / "b.db")).path == tmp_path / "b.db"
    with pytest.raises(ValueError, match="unsupported"):
        open_storage("mysql://x/y")
    with pytest.raises(RuntimeError, match="PostgreSQL"):
        open_storage("postgresql://nobody@127.0.0.1:1/none")

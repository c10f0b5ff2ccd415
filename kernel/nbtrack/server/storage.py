"""Run storage behind one small interface, with two implementations chosen by URL.

- :class:`~nbtrack.server.storage_sqlite.SqliteStorage` (``storage_sqlite.py``): the
  embedded default, one SQLite file in WAL mode with one writer.
- :class:`~nbtrack.server.storage_postgres.PostgresStorage` (``storage_postgres.py``): the
  team server, ``postgresql://...``, psycopg 3 with a connection pool (optional extra
  ``nbtrack[team]``, imported only when such a URL is used).

Both upgrade an existing database in place: each has a versioned list of migrations
(``MIGRATIONS``); the version applied last is kept in ``schema_version``; at open the
missing ones are applied in order, each in its own transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any, Protocol

SCHEMA_VERSION = 2  # the number of migrations each implementation has

# run columns settable through upsert (storage name -> kind)
RUN_FIELDS = (
    "display_name",
    "description",
    "notes",
    "group_name",
    "job_type",
    "tags",
    "host",
    "config",
    "summary",
    "sweep_name",
)
LINE_TABLES = {
    "wandb-history.jsonl": "history",
    "wandb-events.jsonl": "events",
    "output.log": "output",
}


class Storage(Protocol):
    """What the server needs from a database. Runs are dicts of the ``runs`` columns.

    Accounts (users, team memberships, API keys) live in the same database; key hashes
    only, never keys.
    """

    schema_version: int

    def get_run(self, entity: str, project: str, name: str) -> dict[str, Any] | None: ...
    def list_runs(
        self, entity: str | None, project: str | None, entities: Collection[str] | None = None
    ) -> list[dict[str, Any]]: ...
    def upsert_run(
        self, entity: str, project: str, name: str, fields: dict[str, Any], state: str | None
    ) -> tuple[dict[str, Any], bool]: ...
    def append_lines(self, rid: int, file: str, offset: int, lines: list[str]) -> None: ...
    def set_summary(self, rid: int, summary_json: str) -> None: ...
    def finish_run(self, rid: int, exit_code: int | None) -> None: ...
    def heartbeat(self, rid: int) -> None: ...
    def history(self, rid: int, min_step: int | None, max_step: int | None) -> list[str]: ...
    def tail(self, rid: int, file: str, n: int) -> list[str]: ...
    def lines(self, rid: int, file: str) -> list[str]: ...
    def record_file(self, rid: int, name: str, size: int) -> None: ...
    def list_files(self, rid: int) -> list[dict[str, Any]]: ...

    # accounts
    def add_user(self, name: str) -> bool: ...
    def get_user(self, name: str) -> dict[str, Any] | None: ...
    def list_users(self) -> list[dict[str, Any]]: ...
    def add_member(self, team: str, user: str) -> None: ...
    def teams_of(self, user: str) -> list[str]: ...
    def add_key(self, key_id: str, user: str, key_hash: str) -> None: ...
    def find_key(self, key_id: str) -> dict[str, Any] | None: ...
    def list_keys(self, user: str | None) -> list[dict[str, Any]]: ...
    def revoke_key(self, key_id: str) -> bool: ...

    def close(self) -> None: ...


_STEP = re.compile(r'"_step"\s*:\s*(-?[0-9]+)\s*[,}]')


def _step_of(line: str) -> int | None:
    """The ``_step`` of a history line; None when absent or not an integer.

    A regex finds it ~10x faster than parsing the row; rows where ``"_step"`` appears more
    than once (a nested dict) are parsed properly. Inside JSON strings quotes are escaped,
    so the pattern cannot match string content.
    """
    m = _STEP.search(line)
    if m is not None and line.count('"_step"') == 1:
        return int(m.group(1))
    try:
        row = json.loads(line)
    except ValueError:
        return None
    step = row.get("_step") if isinstance(row, dict) else None
    if isinstance(step, bool) or not isinstance(step, int | float):
        return None
    try:
        return int(step)
    except (OverflowError, ValueError):
        return None


def open_storage(url: str, *, pool_size: int = 16) -> Storage:
    """Storage from a URL: ``sqlite:///path``, a plain path, or ``postgresql://...``."""
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from nbtrack.server.storage_postgres import PostgresStorage
        except ImportError as e:  # psycopg is the optional extra nbtrack[team]
            raise RuntimeError(
                f"PostgreSQL needs psycopg 3: pip install 'nbtrack[team]' ({e})"
            ) from None
        return PostgresStorage(url, max_size=pool_size)
    from nbtrack.server.storage_sqlite import SqliteStorage

    if url.startswith("sqlite:///"):
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute.db
        return SqliteStorage(Path(url[len("sqlite:///") :]))
    if "://" in url:
        raise ValueError(f"unsupported database URL scheme: {url.split('://', 1)[0]}")
    return SqliteStorage(Path(url))


def redact(url: str) -> str:
    """A database URL without its password, for logs."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def __getattr__(name: str) -> Any:
    """``storage.SqliteStorage`` still works (the class lives in ``storage_sqlite``)."""
    if name == "SqliteStorage":
        from nbtrack.server.storage_sqlite import SqliteStorage

        return SqliteStorage
    raise AttributeError(name)

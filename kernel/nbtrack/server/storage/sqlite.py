"""The embedded default storage: one SQLite file in WAL mode.

ONE writer connection guarded by a lock (SQLite allows one writer at a time anyway; a
lock in Python avoids busy-timeouts) and one reader connection per thread, so reads
never wait for writes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nbtrack.server.storage.artifacts import on_sqlite
from nbtrack.server.storage.base import (
    LINE_TABLES,
    RUN_FIELDS,
    new_run_seqs,
    ordered_update,
    step_of,
)
from nbtrack.server.storage.secrets import new_signing_key
from nbtrack.server.storage.sqlite_migrations import migrate
from nbtrack.server.storage.stepdedup import Appended, old_steps, plan
from nbtrack.wire.ordering import MAX_SEQ

_IN_CHUNK = 500  # steps per ``IN (...)`` lookup (SQLite bounds a statement's parameters)


class SqliteStorage:
    """The default storage: one SQLite file in WAL mode."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        with self._lock:
            self.schema_version = migrate(self._writer)
        self.artifacts = on_sqlite(self)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def _reader(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    # ------------------------------------------------------------------ runs

    def get_run(self, entity: str, project: str, name: str) -> dict[str, Any] | None:
        row = (
            self._reader()
            .execute(
                "SELECT * FROM runs WHERE entity=? AND project=? AND name=?",
                (entity, project, name),
            )
            .fetchone()
        )
        return dict(row) if row else None

    def list_runs(
        self, entity: str | None, project: str | None, entities: Collection[str] | None = None
    ) -> list[dict[str, Any]]:
        """Runs, newest first; ``entities`` (when not None) limits them to those entities."""
        sql, params = "SELECT * FROM runs WHERE 1=1", list[Any]()
        if entities is not None:
            ents = sorted(entities)
            sql += f" AND entity IN ({', '.join('?' for _ in ents) or 'NULL'})"
            params += ents
        if entity:
            sql, params = sql + " AND entity=?", [*params, entity]
        if project:
            sql, params = sql + " AND project=?", [*params, project]
        rows = self._reader().execute(sql + " ORDER BY created_at DESC, rid DESC", params)
        return [dict(r) for r in rows]

    def upsert_run(
        self, entity: str, project: str, name: str, fields: dict[str, Any], state: str | None,
        seq: int | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create or update a run by the order rule (``base.ordered_update``)."""
        now = time.time()
        cols = {k: v for k, v in fields.items() if k in RUN_FIELDS and v is not None}
        with self._write() as db:
            row = db.execute(
                "SELECT rid, state, config_seq, summary_seq, state_seq FROM runs"
                " WHERE entity=? AND project=? AND name=?",
                (entity, project, name),
            ).fetchone()
            inserted = row is None
            if inserted:
                cols.update(
                    state=state or "running",
                    created_at=now,
                    updated_at=now,
                    heartbeat_at=now,
                    entity=entity,
                    project=project,
                    name=name,
                    **new_run_seqs(seq),
                )
                names = ", ".join(cols)
                marks = ", ".join("?" for _ in cols)
                db.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", list(cols.values()))
            else:
                cols = ordered_update(cols, state, seq, dict(row))
                cols.update(updated_at=now, heartbeat_at=now)
                sets = ", ".join(f"{k}=?" for k in cols)
                db.execute(f"UPDATE runs SET {sets} WHERE rid=?", [*cols.values(), row["rid"]])
            out = db.execute(
                "SELECT * FROM runs WHERE entity=? AND project=? AND name=?",
                (entity, project, name),
            ).fetchone()
        return dict(out), inserted

    def heartbeat(self, rid: int) -> None:
        with self._write() as db:
            db.execute("UPDATE runs SET heartbeat_at=? WHERE rid=?", (time.time(), rid))

    def set_summary(self, rid: int, summary_json: str, seq: int | None = None) -> None:
        """Replace the summary, unless a newer one (a larger ``seq``) is stored."""
        with self._write() as db:
            now = time.time()
            db.execute(
                "UPDATE runs SET summary=?, summary_seq=MAX(summary_seq, ?), updated_at=?,"
                " heartbeat_at=? WHERE rid=? AND summary_seq<=?",
                (summary_json, seq or 0, now, now, rid, seq if seq is not None else MAX_SEQ),
            )

    def finish_run(self, rid: int, exit_code: int | None, seq: int | None = None) -> None:
        """Finished or failed, unless a newer state (a larger ``seq``) is stored."""
        state = "finished" if exit_code in (0, None) else "failed"
        with self._write() as db:
            now = time.time()
            db.execute(
                "UPDATE runs SET state=?, exit_code=?, state_seq=MAX(state_seq, ?),"
                " updated_at=?, heartbeat_at=? WHERE rid=? AND state_seq<=?",
                (state, exit_code if exit_code is not None else 0, seq or 0, now, now, rid,
                 seq if seq is not None else MAX_SEQ),
            )

    # ------------------------------------------------------------------ lines

    def append_lines(self, rid: int, file: str, offset: int, lines: list[str]) -> Appended:
        """Store lines ``offset + i``; lines already stored are kept (idempotent re-sends);
        history rows are also matched by ``_step`` (:mod:`.stepdedup`)."""
        if not lines:
            return Appended()
        end = offset + len(lines)
        table = LINE_TABLES.get(file)
        out = Appended(inserted=len(lines))
        with self._write() as db:
            if table == "history":
                out = self._append_history(db, rid, offset, lines)
                # from what is stored: a re-sent line that was ignored must not count
                db.execute(
                    "UPDATE runs SET history_line_count=MAX(history_line_count, ?),"
                    " last_step=(SELECT MAX(step) FROM history WHERE rid=?) WHERE rid=?",
                    (end, rid, rid),
                )
            elif table is not None:
                db.executemany(
                    f"INSERT OR IGNORE INTO {table} (rid, line, data) VALUES (?, ?, ?)",
                    [(rid, offset + i, s) for i, s in enumerate(lines)],
                )
                col = "events_line_count" if table == "events" else "log_line_count"
                db.execute(f"UPDATE runs SET {col}=MAX({col}, ?) WHERE rid=?", (end, rid))
            else:
                db.executemany(
                    "INSERT OR IGNORE INTO lines (rid, file, line, data) VALUES (?, ?, ?, ?)",
                    [(rid, file, offset + i, s) for i, s in enumerate(lines)],
                )
            now = time.time()
            db.execute("UPDATE runs SET heartbeat_at=?, updated_at=? WHERE rid=?", (now, now, rid))
        return out

    @staticmethod
    def _append_history(db: sqlite3.Connection, rid: int, offset: int,
                        lines: list[str]) -> Appended:
        steps = [step_of(s) for s in lines]
        row = db.execute("SELECT last_step FROM runs WHERE rid=?", (rid,)).fetchone()
        olds = old_steps(steps, None if row is None else row[0])
        stored: dict[int, tuple[int, str]] = {}
        for i in range(0, len(olds), _IN_CHUNK):
            part = olds[i:i + _IN_CHUNK]
            marks = ", ".join("?" for _ in part)
            # by the step index: left to itself SQLite walks all the run's rows by line
            for step, line, data in db.execute(
                    "SELECT step, line, data FROM history INDEXED BY history_step"
                    f" WHERE rid=? AND step IN ({marks})",
                    [rid, *part]):
                if step not in stored or line < stored[step][0]:
                    stored[step] = (line, data)  # the first line of a step wins
        todo = plan(offset, lines, steps, stored)
        params = ([(rid, offset + i, steps[i], s) for i, s in enumerate(lines)]
                  if todo.inserts is None else
                  [(rid, line, step, text) for line, step, text in todo.inserts])
        db.executemany(
            "INSERT OR IGNORE INTO history (rid, line, step, data) VALUES (?, ?, ?, ?)", params)
        if todo.updates:
            db.executemany("UPDATE history SET data=? WHERE rid=? AND line=?",
                           [(text, rid, line) for line, text in todo.updates])
        return todo.result

    def history(self, rid: int, min_step: int | None, max_step: int | None) -> list[str]:
        """History lines in step order (lines without a step last, in line order)."""
        sql, params = "SELECT data FROM history WHERE rid=?", list[Any]([rid])
        if min_step is not None:
            sql, params = sql + " AND step>=?", [*params, min_step]
        if max_step is not None:
            sql, params = sql + " AND step<=?", [*params, max_step]
        rows = self._reader().execute(sql + " ORDER BY step IS NULL, step, line", params)
        return [r[0] for r in rows]

    def history_page(self, rid: int, min_step: int | None, max_step: int | None,
                     after: tuple[int | None, int] | None, limit: int) -> list[Any]:
        """Up to ``limit`` (step, line, text) after the (step, line) ``after``, in the order
        of :meth:`history`; each page is one index range, not a sort of the run."""
        out: list[Any] = []
        if after is None or after[0] is not None:
            sql = "SELECT step, line, data FROM history WHERE rid=? AND step IS NOT NULL"
            params: list[Any] = [rid]
            if min_step is not None:
                sql, params = sql + " AND step>=?", [*params, min_step]
            if max_step is not None:
                sql, params = sql + " AND step<=?", [*params, max_step]
            if after is not None:
                sql += " AND step>=? AND NOT (step=? AND line<=?)"
                params += [after[0], after[0], after[1]]
            out = self._reader().execute(sql + " ORDER BY step, line LIMIT ?",
                                         [*params, limit]).fetchall()
        if len(out) < limit and min_step is None and max_step is None:
            last = after[1] if after is not None and after[0] is None else -1
            out += self._reader().execute(
                "SELECT step, line, data FROM history WHERE rid=? AND step IS NULL AND line>?"
                " ORDER BY line LIMIT ?", (rid, last, limit - len(out))).fetchall()
        return out

    def _select(self, file: str) -> tuple[str, tuple[Any, ...]]:
        table = LINE_TABLES.get(file)
        if table:
            return f"SELECT data FROM {table} WHERE rid=?", ()
        return "SELECT data FROM lines WHERE rid=? AND file=?", (file,)

    def tail(self, rid: int, file: str, n: int) -> list[str]:
        sql, extra = self._select(file)
        rows = self._reader().execute(f"{sql} ORDER BY line DESC LIMIT ?", (rid, *extra, n))
        return [r[0] for r in rows][::-1]

    def lines(self, rid: int, file: str) -> list[str]:
        sql, extra = self._select(file)
        return [r[0] for r in self._reader().execute(f"{sql} ORDER BY line", (rid, *extra))]

    def numbered_lines(self, rid: int, file: str, after: int | None, limit: int,
                       last: bool = False) -> list[tuple[int, str]]:
        table = LINE_TABLES.get(file)
        sql, extra = ((f"SELECT line, data FROM {table} WHERE rid=?", ()) if table else
                      ("SELECT line, data FROM lines WHERE rid=? AND file=?", (file,)))
        if last:
            rows = self._reader().execute(f"{sql} ORDER BY line DESC LIMIT ?",
                                          (rid, *extra, limit)).fetchall()[::-1]
        else:
            rows = self._reader().execute(f"{sql} AND line>? ORDER BY line LIMIT ?",
                                          (rid, *extra, -1 if after is None else after,
                                           limit)).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    # ------------------------------------------------------------------ files

    def record_file(self, rid: int, name: str, size: int) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO files (rid, name, size, updated_at) VALUES (?, ?, ?, ?)",
                (rid, name, size, time.time()),
            )

    def list_files(self, rid: int) -> list[dict[str, Any]]:
        rows = self._reader().execute(
            "SELECT name, size, updated_at FROM files WHERE rid=? ORDER BY name", (rid,)
        )
        return [dict(r) for r in rows]

    # ------------------------------------------------------------------ projects

    _PROJECTS = ("SELECT project, MIN(created_at) AS created_at, MIN(rid) AS first_rid,"
                 " COUNT(*) AS run_count, MAX(updated_at) AS updated_at FROM runs"
                 " WHERE entity=?")

    def list_projects(self, entity: str) -> list[dict[str, Any]]:
        """The entity's projects by name (one index range of ``UNIQUE(entity, ...)``)."""
        rows = self._reader().execute(self._PROJECTS + " GROUP BY project ORDER BY project",
                                      (entity,))
        return [dict(r) for r in rows]

    def project_info(self, entity: str, project: str) -> dict[str, Any] | None:
        row = self._reader().execute(self._PROJECTS + " AND project=? GROUP BY project",
                                     (entity, project)).fetchone()
        return dict(row) if row else None

    # ------------------------------------------------------------------ accounts

    def add_user(self, name: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO users (name, created_at) VALUES (?, ?)", (name, time.time())
            )
            return cur.rowcount == 1

    def get_user(self, name: str) -> dict[str, Any] | None:
        row = self._reader().execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
        return dict(row) if row else None

    def list_users(self) -> list[dict[str, Any]]:
        rows = self._reader().execute("SELECT * FROM users ORDER BY name").fetchall()
        return [{**dict(r), "teams": self.teams_of(r["name"])} for r in rows]

    def add_member(self, team: str, user: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO members (team, user_name) VALUES (?, ?)", (team, user)
            )

    def teams_of(self, user: str) -> list[str]:
        rows = self._reader().execute(
            "SELECT team FROM members WHERE user_name=? ORDER BY team", (user,)
        )
        return [r[0] for r in rows]

    def add_key(self, key_id: str, user: str, key_hash: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO api_keys (key_id, user_name, key_hash, created_at)"
                " VALUES (?, ?, ?, ?)",
                (key_id, user, key_hash, time.time()),
            )

    def find_key(self, key_id: str) -> dict[str, Any] | None:
        row = self._reader().execute("SELECT * FROM api_keys WHERE key_id=?", (key_id,)).fetchone()
        return dict(row) if row else None

    def list_keys(self, user: str | None) -> list[dict[str, Any]]:
        sql = "SELECT key_id, user_name, created_at, revoked_at FROM api_keys"
        if user is None:
            rows = self._reader().execute(sql + " ORDER BY user_name, created_at")
        else:
            rows = self._reader().execute(sql + " WHERE user_name=? ORDER BY created_at", (user,))
        return [dict(r) for r in rows]

    def revoke_key(self, key_id: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE api_keys SET revoked_at=? WHERE key_id=? AND revoked_at IS NULL",
                (time.time(), key_id),
            )
            return cur.rowcount == 1

    # ------------------------------------------------------------------ shared secrets

    def now(self) -> float:
        """One file, one host: the host's clock is the database's."""
        return time.time()

    def signing_keys(self) -> list[tuple[str, bytes]]:
        """(key id, secret) newest first; the first call on a new database makes one."""
        rows = self._reader().execute(
            "SELECT kid, secret FROM signing_keys ORDER BY created_at DESC, kid"
        ).fetchall()
        if rows:
            return [(str(r[0]), bytes.fromhex(r[1])) for r in rows]
        kid, secret = new_signing_key()
        with self._write() as db:
            if db.execute("SELECT 1 FROM signing_keys LIMIT 1").fetchone() is None:
                db.execute("INSERT INTO signing_keys VALUES (?, ?, ?)",
                           (kid, secret.hex(), time.time()))
        return self.signing_keys()

    def add_signing_key(self, kid: str, secret: bytes, keep: int) -> None:
        """Make ``kid`` the signing key; only the ``keep`` newest keys stay valid."""
        with self._write() as db:
            db.execute("INSERT INTO signing_keys VALUES (?, ?, ?)",
                       (kid, secret.hex(), time.time()))
            db.execute(
                "DELETE FROM signing_keys WHERE kid NOT IN (SELECT kid FROM signing_keys"
                " ORDER BY created_at DESC, kid LIMIT ?)", (keep,)
            )

    def put_secret(
        self, kind: str, digest: str, principal: str, expires_at: float, cap: int
    ) -> None:
        """Keep a session or code (by its digest); expired ones are dropped, and at most
        ``cap`` of a kind are kept (the ones expiring first go)."""
        with self._write() as db:
            db.execute("DELETE FROM secrets WHERE expires_at < ?", (time.time(),))
            db.execute("INSERT OR IGNORE INTO secrets VALUES (?, ?, ?, ?)",
                       (kind, digest, principal, expires_at))
            db.execute(
                "DELETE FROM secrets WHERE kind=? AND digest IN (SELECT digest FROM secrets"
                " WHERE kind=? ORDER BY expires_at DESC LIMIT -1 OFFSET ?)", (kind, kind, cap)
            )

    def get_secret(self, kind: str, digest: str, spend: bool) -> str | None:
        """The principal JSON of a live session or code; ``spend`` deletes it (once only)."""
        if not spend:
            row = self._reader().execute(
                "SELECT principal FROM secrets WHERE kind=? AND digest=? AND expires_at > ?",
                (kind, digest, time.time()),
            ).fetchone()
            return None if row is None else str(row[0])
        with self._write() as db:
            rows = db.execute(
                "DELETE FROM secrets WHERE kind=? AND digest=? AND expires_at > ?"
                " RETURNING principal", (kind, digest, time.time()),
            ).fetchall()  # every row read, so the statement is done before COMMIT
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        with self._lock:
            self._writer.close()


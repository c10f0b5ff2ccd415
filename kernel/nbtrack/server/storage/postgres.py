"""The team server's storage: PostgreSQL through psycopg 3 and its connection pool.

Every method borrows a connection from a :class:`psycopg_pool.ConnectionPool` for one
transaction (the pool commits when the block ends, rolls back on an exception), so
requests for different runs write in parallel; rows of one run serialize on its
``runs`` row. Lines are inserted in one statement per post (``unnest`` of arrays) with
``ON CONFLICT DO NOTHING``, so a re-sent chunk never duplicates a row, and ``last_step``
is raised from the rows actually inserted (``RETURNING step``).

Several server processes may share one database (stateless replicas): times written and
compared are the database's clock (:meth:`PostgresStorage.now`), not each host's. The pool
checks a connection before lending it (a restarted PostgreSQL costs no request), and while
the database cannot be reached every call raises :class:`StorageUnavailable` after a short
wait, which the HTTP layer answers with 503 and ``Retry-After``.

Needs the optional extra ``nbtrack[team]`` (``psycopg[binary]``, ``psycopg-pool``).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from nbtrack.server.storage.artifacts import on_postgres
from nbtrack.server.storage.base import (
    LINE_TABLES,
    RUN_FIELDS,
    StorageUnavailable,
    new_run_seqs,
    ordered_update,
)
from nbtrack.server.storage.dbclock import DatabaseClock
from nbtrack.server.storage.postgres_history import insert_history, pg_text
from nbtrack.server.storage.postgres_migrations import migrate
from nbtrack.server.storage.secrets import new_signing_key
from nbtrack.server.storage.stepdedup import Appended
from nbtrack.wire.ordering import MAX_SEQ

_KEY_LOCK = 0x6E62_6B79  # pg_advisory_xact_lock key: one replica makes the first signing key
WAIT_FOR_DB = 5.0  # seconds a request waits for a connection before it is answered 503


class PostgresStorage:
    """Storage in a PostgreSQL database (``postgresql://user:pw@host:port/db``)."""

    def __init__(
        self, url: str, *, min_size: int = 2, max_size: int = 16, wait: float = WAIT_FOR_DB
    ) -> None:
        self.url = url
        self._clock = DatabaseClock(self._clock_reading)
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                self.schema_version = migrate(conn)
        except psycopg.Error as e:
            raise RuntimeError(f"PostgreSQL: {e}") from None
        self._pool: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "connect_timeout": 10},
            timeout=wait,
            check=ConnectionPool.check_connection,  # a stale connection is replaced, not lent
            reconnect_timeout=24 * 3600.0,  # keep trying through a long outage
            open=False,
            name="nbtrack",
        )
        self._pool.open(wait=True, timeout=30.0)
        self.artifacts = on_postgres(self)

    @contextmanager
    def _db(self) -> Iterator[psycopg.Connection[dict[str, Any]]]:
        """One transaction on a pooled connection; an unreachable database raises
        :class:`StorageUnavailable` (a broken connection is dropped by the pool)."""
        try:
            with self._pool.connection() as db:
                yield db
        except PoolTimeout:
            raise StorageUnavailable("PostgreSQL is unreachable (no connection)") from None
        except psycopg.OperationalError as e:
            raise StorageUnavailable(f"PostgreSQL is unreachable: {e}") from None

    def now(self) -> float:
        """The database's clock (:mod:`.dbclock`), so replicas on hosts whose clocks differ
        judge heartbeats and expiries alike."""
        return self._clock.now()

    def _clock_reading(self) -> tuple[float, float]:
        """The database's time and ours at the same moment (the middle of the query)."""
        with self._db() as db:
            before = time.time()
            row = db.execute("SELECT extract(epoch FROM clock_timestamp()) AS t").fetchone()
            after = time.time()
        assert row is not None
        return float(row["t"]), (before + after) / 2

    # ------------------------------------------------------------------ runs

    def get_run(self, entity: str, project: str, name: str) -> dict[str, Any] | None:
        with self._db() as db:
            return db.execute(
                "SELECT * FROM runs WHERE entity=%s AND project=%s AND name=%s",
                (entity, project, name),
            ).fetchone()

    def list_runs(
        self, entity: str | None, project: str | None, entities: Collection[str] | None = None
    ) -> list[dict[str, Any]]:
        """Runs, newest first; ``entities`` (when not None) limits them to those entities."""
        sql, params = "SELECT * FROM runs WHERE true", list[Any]()
        if entities is not None:
            sql, params = sql + " AND entity = ANY(%s)", [*params, sorted(entities)]
        if entity:
            sql, params = sql + " AND entity=%s", [*params, entity]
        if project:
            sql, params = sql + " AND project=%s", [*params, project]
        with self._db() as db:
            return db.execute(sql + " ORDER BY created_at DESC, rid DESC", params).fetchall()

    def upsert_run(
        self, entity: str, project: str, name: str, fields: dict[str, Any], state: str | None,
        seq: int | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create or update a run by the order rule (``base.ordered_update``)."""
        now = self.now()
        cols = {k: v for k, v in fields.items() if k in RUN_FIELDS and v is not None}
        key = (entity, project, name)
        with self._db() as db:
            ins = {
                **cols,
                "state": state or "running",
                "created_at": now,
                "updated_at": now,
                "heartbeat_at": now,
                "entity": entity,
                "project": project,
                "name": name,
                **new_run_seqs(seq),
            }
            names = ", ".join(ins)
            marks = ", ".join("%s" for _ in ins)
            row = db.execute(
                f"INSERT INTO runs ({names}) VALUES ({marks})"
                " ON CONFLICT (entity, project, name) DO NOTHING RETURNING *",
                list(ins.values()),
            ).fetchone()
            if row is not None:
                return row, True
            old = db.execute(
                "SELECT rid, state, config_seq, summary_seq, state_seq FROM runs"
                " WHERE entity=%s AND project=%s AND name=%s FOR UPDATE",
                key,
            ).fetchone()
            assert old is not None  # runs are never deleted
            cols = ordered_update(cols, state, seq, old)
            cols.update(updated_at=now, heartbeat_at=now)
            sets = ", ".join(f"{k}=%s" for k in cols)
            out = db.execute(
                f"UPDATE runs SET {sets} WHERE rid=%s RETURNING *",
                [*cols.values(), old["rid"]],
            ).fetchone()
            assert out is not None
            return out, False

    def heartbeat(self, rid: int) -> None:
        with self._db() as db:
            db.execute("UPDATE runs SET heartbeat_at=%s WHERE rid=%s", (self.now(), rid))

    def set_summary(self, rid: int, summary_json: str, seq: int | None = None) -> None:
        """Replace the summary, unless a newer one (a larger ``seq``) is stored."""
        now = self.now()
        with self._db() as db:
            db.execute(
                "UPDATE runs SET summary=%s, summary_seq=GREATEST(summary_seq, %s),"
                " updated_at=%s, heartbeat_at=%s WHERE rid=%s AND summary_seq<=%s",
                (pg_text(summary_json), seq or 0, now, now, rid,
                 seq if seq is not None else MAX_SEQ),
            )

    def finish_run(self, rid: int, exit_code: int | None, seq: int | None = None) -> None:
        """Finished or failed, unless a newer state (a larger ``seq``) is stored."""
        state = "finished" if exit_code in (0, None) else "failed"
        now = self.now()
        with self._db() as db:
            db.execute(
                "UPDATE runs SET state=%s, exit_code=%s, state_seq=GREATEST(state_seq, %s),"
                " updated_at=%s, heartbeat_at=%s WHERE rid=%s AND state_seq<=%s",
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
        now = self.now()
        numbers = list(range(offset, end))
        data = [pg_text(s) for s in lines]
        table = LINE_TABLES.get(file)
        out = Appended(inserted=len(lines))
        with self._db() as db:
            if table == "history":
                out = insert_history(db, rid, offset, data, now)
            elif table is not None:
                col = "events_line_count" if table == "events" else "log_line_count"
                db.execute(
                    f"INSERT INTO {table} (rid, line, data)"
                    " SELECT %s, * FROM unnest(%s::bigint[], %s::text[]) ON CONFLICT DO NOTHING",
                    (rid, numbers, data),
                )
                db.execute(
                    f"UPDATE runs SET {col}=GREATEST({col}, %s),"
                    " heartbeat_at=%s, updated_at=%s WHERE rid=%s",
                    (end, now, now, rid),
                )
            else:
                db.execute(
                    "INSERT INTO lines (rid, file, line, data)"
                    " SELECT %s, %s, * FROM unnest(%s::bigint[], %s::text[])"
                    " ON CONFLICT DO NOTHING",
                    (rid, file, numbers, data),
                )
                db.execute(
                    "UPDATE runs SET heartbeat_at=%s, updated_at=%s WHERE rid=%s", (now, now, rid)
                )
        return out

    def history(self, rid: int, min_step: int | None, max_step: int | None) -> list[str]:
        """History lines in step order (lines without a step last, in line order)."""
        sql, params = "SELECT data FROM history WHERE rid=%s", list[Any]([rid])
        if min_step is not None:
            sql, params = sql + " AND step>=%s", [*params, min_step]
        if max_step is not None:
            sql, params = sql + " AND step<=%s", [*params, max_step]
        with self._db() as db, db.cursor(row_factory=psycopg.rows.tuple_row) as cur:
            cur.execute(sql + " ORDER BY step IS NULL, step, line", params)
            return [r[0] for r in cur]

    def history_page(self, rid: int, min_step: int | None, max_step: int | None,
                     after: tuple[int | None, int] | None, limit: int) -> list[Any]:
        """Up to ``limit`` (step, line, text) after the (step, line) ``after``, in the order
        of :meth:`history`; each page is one index range, not a sort of the run."""
        out: list[Any] = []
        with self._db() as db, db.cursor(row_factory=psycopg.rows.tuple_row) as cur:
            if after is None or after[0] is not None:
                sql = "SELECT step, line, data FROM history WHERE rid=%s AND step IS NOT NULL"
                params: list[Any] = [rid]
                if min_step is not None:
                    sql, params = sql + " AND step>=%s", [*params, min_step]
                if max_step is not None:
                    sql, params = sql + " AND step<=%s", [*params, max_step]
                if after is not None:
                    sql += " AND (step, line) > (%s, %s)"
                    params += [after[0], after[1]]
                cur.execute(sql + " ORDER BY step, line LIMIT %s", [*params, limit])
                out = list(cur)
            if len(out) < limit and min_step is None and max_step is None:
                last = after[1] if after is not None and after[0] is None else -1
                cur.execute("SELECT step, line, data FROM history WHERE rid=%s AND step IS NULL"
                            " AND line>%s ORDER BY line LIMIT %s", (rid, last, limit - len(out)))
                out += list(cur)
        return out

    def _select(self, file: str) -> tuple[str, tuple[Any, ...]]:
        table = LINE_TABLES.get(file)
        if table:
            return f"SELECT data FROM {table} WHERE rid=%s", ()
        return "SELECT data FROM lines WHERE rid=%s AND file=%s", (file,)

    def _strings(self, sql: str, params: tuple[Any, ...]) -> list[str]:
        with self._db() as db, db.cursor(row_factory=psycopg.rows.tuple_row) as cur:
            cur.execute(sql, params)
            return [r[0] for r in cur]

    def tail(self, rid: int, file: str, n: int) -> list[str]:
        sql, extra = self._select(file)
        return self._strings(f"{sql} ORDER BY line DESC LIMIT %s", (rid, *extra, n))[::-1]

    def lines(self, rid: int, file: str) -> list[str]:
        sql, extra = self._select(file)
        return self._strings(f"{sql} ORDER BY line", (rid, *extra))

    def numbered_lines(self, rid: int, file: str, after: int | None, limit: int,
                       last: bool = False) -> list[tuple[int, str]]:
        table = LINE_TABLES.get(file)
        sql, extra = ((f"SELECT line, data FROM {table} WHERE rid=%s", ()) if table else
                      ("SELECT line, data FROM lines WHERE rid=%s AND file=%s", (file,)))
        with self._pool.connection() as db, db.cursor(row_factory=psycopg.rows.tuple_row) as cur:
            if last:
                cur.execute(f"{sql} ORDER BY line DESC LIMIT %s", (rid, *extra, limit))
                rows = list(cur)[::-1]
            else:
                cur.execute(f"{sql} AND line>%s ORDER BY line LIMIT %s",
                            (rid, *extra, -1 if after is None else after, limit))
                rows = list(cur)
        return [(int(r[0]), str(r[1])) for r in rows]

    # ------------------------------------------------------------------ files

    def record_file(self, rid: int, name: str, size: int) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO files (rid, name, size, updated_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (rid, name) DO UPDATE SET size=excluded.size,"
                " updated_at=excluded.updated_at",
                (rid, name, size, self.now()),
            )

    def list_files(self, rid: int) -> list[dict[str, Any]]:
        with self._db() as db:
            return db.execute(
                "SELECT name, size, updated_at FROM files WHERE rid=%s ORDER BY name", (rid,)
            ).fetchall()

    # ------------------------------------------------------------------ projects

    _PROJECTS = ("SELECT project, MIN(created_at) AS created_at, MIN(rid) AS first_rid,"
                 " COUNT(*) AS run_count, MAX(updated_at) AS updated_at FROM runs"
                 " WHERE entity=%s")

    def list_projects(self, entity: str) -> list[dict[str, Any]]:
        """The entity's projects by name (one index range of ``UNIQUE(entity, ...)``)."""
        with self._pool.connection() as db:
            return db.execute(self._PROJECTS + " GROUP BY project ORDER BY project",
                              (entity,)).fetchall()

    def project_info(self, entity: str, project: str) -> dict[str, Any] | None:
        with self._pool.connection() as db:
            return db.execute(self._PROJECTS + " AND project=%s GROUP BY project",
                              (entity, project)).fetchone()

    # ------------------------------------------------------------------ accounts

    def add_user(self, name: str) -> bool:
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO users (name, created_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (name, self.now()),
            )
            return cur.rowcount == 1

    def get_user(self, name: str) -> dict[str, Any] | None:
        with self._db() as db:
            return db.execute("SELECT * FROM users WHERE name=%s", (name,)).fetchone()

    def list_users(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT * FROM users ORDER BY name").fetchall()
        return [{**r, "teams": self.teams_of(r["name"])} for r in rows]

    def add_member(self, team: str, user: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO members (team, user_name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (team, user),
            )

    def teams_of(self, user: str) -> list[str]:
        return self._strings("SELECT team FROM members WHERE user_name=%s ORDER BY team", (user,))

    def add_key(self, key_id: str, user: str, key_hash: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT INTO api_keys (key_id, user_name, key_hash, created_at)"
                " VALUES (%s, %s, %s, %s)",
                (key_id, user, key_hash, self.now()),
            )

    def find_key(self, key_id: str) -> dict[str, Any] | None:
        with self._db() as db:
            return db.execute("SELECT * FROM api_keys WHERE key_id=%s", (key_id,)).fetchone()

    def list_keys(self, user: str | None) -> list[dict[str, Any]]:
        sql = "SELECT key_id, user_name, created_at, revoked_at FROM api_keys"
        with self._db() as db:
            if user is None:
                return db.execute(sql + " ORDER BY user_name, created_at").fetchall()
            return db.execute(
                sql + " WHERE user_name=%s ORDER BY created_at",
                (user,),
            ).fetchall()

    def revoke_key(self, key_id: str) -> bool:
        with self._db() as db:
            cur = db.execute(
                "UPDATE api_keys SET revoked_at=%s WHERE key_id=%s AND revoked_at IS NULL",
                (self.now(), key_id),
            )
            return cur.rowcount == 1

    # ------------------------------------------------------------------ shared secrets

    def signing_keys(self) -> list[tuple[str, bytes]]:
        """(key id, secret) newest first; the first call on a new database makes one."""
        with self._db() as db:
            rows = db.execute(
                "SELECT kid, secret FROM signing_keys ORDER BY created_at DESC, kid"
            ).fetchall()
        if rows:
            return [(str(r["kid"]), bytes.fromhex(r["secret"])) for r in rows]
        kid, secret = new_signing_key()
        with self._db() as db:  # two replicas starting at once may both add one: both valid
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_KEY_LOCK,))
            if db.execute("SELECT 1 FROM signing_keys LIMIT 1").fetchone() is None:
                db.execute("INSERT INTO signing_keys VALUES (%s, %s, %s)",
                           (kid, secret.hex(), self.now()))
        return self.signing_keys()

    def add_signing_key(self, kid: str, secret: bytes, keep: int) -> None:
        """Make ``kid`` the signing key; only the ``keep`` newest keys stay valid."""
        with self._db() as db:
            db.execute("INSERT INTO signing_keys VALUES (%s, %s, %s)",
                       (kid, secret.hex(), self.now()))
            db.execute(
                "DELETE FROM signing_keys WHERE kid NOT IN (SELECT kid FROM signing_keys"
                " ORDER BY created_at DESC, kid LIMIT %s)", (keep,)
            )

    def put_secret(
        self, kind: str, digest: str, principal: str, expires_at: float, cap: int
    ) -> None:
        """Keep a session or code (by its digest); expired ones are dropped, and at most
        ``cap`` of a kind are kept (the ones expiring first go)."""
        now = self.now()
        with self._db() as db:
            db.execute("DELETE FROM secrets WHERE expires_at < %s", (now,))
            db.execute("INSERT INTO secrets VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                       (kind, digest, principal, expires_at))
            db.execute(
                "DELETE FROM secrets WHERE kind=%s AND digest IN (SELECT digest FROM secrets"
                " WHERE kind=%s ORDER BY expires_at DESC OFFSET %s)", (kind, kind, cap)
            )

    def get_secret(self, kind: str, digest: str, spend: bool) -> str | None:
        """The principal JSON of a live session or code; ``spend`` deletes it (once only)."""
        verb = "DELETE FROM secrets" if spend else "SELECT principal FROM secrets"
        with self._db() as db:
            row = db.execute(
                f"{verb} WHERE kind=%s AND digest=%s AND expires_at > %s"
                + (" RETURNING principal" if spend else ""),
                (kind, digest, self.now()),
            ).fetchone()
        return None if row is None else str(row["principal"])

    def close(self) -> None:
        self._pool.close()


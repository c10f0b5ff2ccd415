"""Artifact rows (``docs/artifacts.md``), written once for both databases.

The SQL here is the dialect both SQLite and PostgreSQL speak (``ON CONFLICT``,
``RETURNING``); each backend hands in a :class:`Sql` that opens its transactions
(:func:`on_sqlite`, :func:`on_postgres`), so the rules live in one place:

- a version is ``PENDING`` from ``createArtifact`` until ``commitArtifact``; only then does
  it get its number in the collection (``MAX + 1`` under a lock on the collection row: the
  SQLite writer lock, PostgreSQL's ``FOR UPDATE``; ``UNIQUE (collection_id,
  version_index)`` besides), its ``latest`` alias and the aliases it was created with.
  Nothing pending is found by a name or an alias.
- file bodies are held once per entity and digest (``artifact_blobs``); a version lists
  its files by digest, so versions share the unchanged ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["ArtifactConflict", "ArtifactStorage", "Entry", "Sql", "on_postgres", "on_sqlite"]

PENDING, COMMITTED = "PENDING", "COMMITTED"
SEQUENCE, PORTFOLIO = "sequence", "portfolio"
LATEST = "latest"

Row = dict[str, Any]


class ArtifactConflict(ValueError):
    """A request the stored artifacts refuse (the message says which and why)."""


class Tx(Protocol):
    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...


@dataclass(frozen=True)
class Sql:
    """How one backend runs the shared SQL: a write and a read transaction, and the
    suffix that locks a selected row until the transaction ends (PostgreSQL only)."""

    write: Any  # () -> context manager of Tx
    read: Any
    lock: str = ""


@dataclass(frozen=True)
class Entry:
    """One file of a version, from its manifest: a stored body (``ref`` None) or a reference."""

    name: str
    digest: str
    size: int
    ref: str | None = None


class _SqliteTx:
    def __init__(self, db: Any) -> None:
        self.db = db

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return [dict(r) for r in self.db.execute(sql, tuple(params)).fetchall()]


class _PostgresTx:
    def __init__(self, db: Any) -> None:
        self.db = db

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        cur = self.db.execute(sql.replace("?", "%s"), tuple(params))
        return list(cur.fetchall()) if cur.description else []


def on_sqlite(storage: Any) -> ArtifactStorage:
    """Artifacts in a :class:`~.sqlite.SqliteStorage` (its one writer, its per-thread readers)."""

    @contextmanager
    def write() -> Iterator[Tx]:
        with storage._write() as db:
            yield _SqliteTx(db)

    @contextmanager
    def read() -> Iterator[Tx]:
        yield _SqliteTx(storage._reader())

    return ArtifactStorage(Sql(write, read))


def on_postgres(storage: Any) -> ArtifactStorage:
    """Artifacts in a :class:`~.postgres.PostgresStorage` (one pooled transaction per call)."""

    @contextmanager
    def tx() -> Iterator[Tx]:
        with storage._db() as db:
            yield _PostgresTx(db)

    return ArtifactStorage(Sql(tx, tx, " FOR UPDATE"))


_VERSION = """SELECT v.*, c.name AS collection_name, c.kind AS collection_kind,
    c.entity AS entity, c.project AS project, t.name AS type_name, t.id AS type_id
    FROM artifact_versions v JOIN artifact_collections c ON c.id = v.collection_id
    JOIN artifact_types t ON t.id = c.type_id"""


def _one(rows: list[Row]) -> Row | None:
    return rows[0] if rows else None


class ArtifactStorage:
    """Types, collections, versions, aliases, files, bodies and usage (one object per database)."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql

    def _w(self) -> AbstractContextManager[Tx]:
        return self.sql.write()

    def _r(self) -> AbstractContextManager[Tx]:
        return self.sql.read()

    # ------------------------------------------------------------ types, collections

    def _type_id(self, tx: Tx, entity: str, project: str, name: str, now: float) -> int:
        tx.rows("INSERT INTO artifact_types (entity, project, name, created_at) VALUES"
                " (?, ?, ?, ?) ON CONFLICT (entity, project, name) DO NOTHING",
                (entity, project, name, now))
        row = tx.rows("SELECT id FROM artifact_types WHERE entity=? AND project=? AND name=?",
                      (entity, project, name))
        return int(row[0]["id"])

    def _collection(self, tx: Tx, entity: str, project: str, name: str, type_name: str,
                    kind: str, now: float) -> Row:
        """The collection ``name`` (made if new); a name held by another type or kind is
        refused, as W&B refuses it: a name is one collection per project."""
        type_id = self._type_id(tx, entity, project, type_name, now)
        tx.rows("INSERT INTO artifact_collections (entity, project, name, type_id, kind,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (entity, project, name) DO NOTHING",
                (entity, project, name, type_id, kind, now))
        row = tx.rows("SELECT c.*, t.name AS type_name FROM artifact_collections c"
                      " JOIN artifact_types t ON t.id = c.type_id"
                      " WHERE c.entity=? AND c.project=? AND c.name=?",
                      (entity, project, name))[0]
        if row["kind"] == SEQUENCE and kind == SEQUENCE and row["type_id"] != type_id:
            raise ArtifactConflict(f"artifact {name!r} already exists in {entity}/{project}"
                                   f" with type {row['type_name']!r}, not {type_name!r}")
        if row["kind"] != kind:
            raise ArtifactConflict(f"{name!r} in {entity}/{project} is a {row['kind']},"
                                   f" not a {kind}")
        return row

    def collection(self, entity: str, project: str, name: str) -> Row | None:
        with self._r() as tx:
            return _one(tx.rows("SELECT c.*, t.name AS type_name FROM artifact_collections c"
                                " JOIN artifact_types t ON t.id = c.type_id"
                                " WHERE c.entity=? AND c.project=? AND c.name=?",
                                (entity, project, name)))

    def collection_by_id(self, cid: int) -> Row | None:
        with self._r() as tx:
            return _one(tx.rows("SELECT c.*, t.name AS type_name FROM artifact_collections c"
                                " JOIN artifact_types t ON t.id = c.type_id WHERE c.id=?",
                                (cid,)))

    def type_named(self, entity: str, project: str, name: str) -> Row | None:
        with self._r() as tx:
            return _one(tx.rows("SELECT * FROM artifact_types WHERE entity=? AND project=?"
                                " AND name=?", (entity, project, name)))

    def types(self, entity: str, project: str) -> list[Row]:
        with self._r() as tx:
            return tx.rows("SELECT * FROM artifact_types WHERE entity=? AND project=?"
                           " ORDER BY id", (entity, project))

    def collections(self, type_id: int) -> list[Row]:
        with self._r() as tx:
            return tx.rows("SELECT c.*, t.name AS type_name FROM artifact_collections c"
                           " JOIN artifact_types t ON t.id = c.type_id WHERE c.type_id=?"
                           " ORDER BY c.id", (type_id,))

    # ------------------------------------------------------------------ versions

    def create_version(self, entity: str, project: str, type_name: str, name: str,
                       digest: str, *, run_rid: int | None, description: str | None,
                       metadata: str | None, aliases: list[str], history_step: int | None,
                       client_id: str | None) -> tuple[Row, int | None]:
        """A new PENDING version, or the committed one with the same digest (W&B's digest
        deduplication: the client then uploads nothing); with the id of the collection's
        latest committed version."""
        now = time.time()
        with self._w() as tx:
            coll = self._collection(tx, entity, project, name, type_name, SEQUENCE, now)
            latest = _one(tx.rows("SELECT version_id FROM artifact_aliases WHERE"
                                  " collection_id=? AND alias=?", (coll["id"], LATEST)))
            latest_id = None if latest is None else int(latest["version_id"])
            same = _one(tx.rows("SELECT id FROM artifact_versions WHERE collection_id=? AND"
                                " digest=? AND state=? ORDER BY version_index DESC",
                                (coll["id"], digest, COMMITTED)))
            if same is not None:  # the aliases asked for move to it; ``latest`` stays put
                vid = int(same["id"])
                for alias in aliases:
                    if alias != LATEST:
                        self._alias(tx, coll["id"], alias, vid)
            else:
                vid = int(tx.rows(
                    "INSERT INTO artifact_versions (collection_id, state, digest, description,"
                    " metadata, aliases, run_rid, history_step, client_id, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (coll["id"], PENDING, digest, description, metadata or "{}",
                     json.dumps(aliases), run_rid, history_step, client_id, now, now))[0]["id"])
            row = tx.rows(_VERSION + " WHERE v.id=?", (vid,))[0]
        return row, latest_id

    def version(self, vid: int) -> Row | None:
        with self._r() as tx:
            return _one(tx.rows(_VERSION + " WHERE v.id=?", (vid,)))

    def version_by_client_id(self, client_id: str) -> Row | None:
        with self._r() as tx:
            return _one(tx.rows(_VERSION + " WHERE v.client_id=? ORDER BY v.id DESC",
                                (client_id,)))

    def update_version(self, vid: int, description: str | None, metadata: str | None) -> None:
        with self._w() as tx:
            if description is not None:
                tx.rows("UPDATE artifact_versions SET description=? WHERE id=?",
                        (description, vid))
            if metadata is not None:
                tx.rows("UPDATE artifact_versions SET metadata=? WHERE id=?", (metadata, vid))

    def set_manifest(self, vid: int, manifest_digest: str, entries: list[Entry]) -> None:
        """The files of a PENDING version, replaced by those of its (re-)uploaded manifest."""
        with self._w() as tx:
            row = _one(tx.rows("SELECT state FROM artifact_versions WHERE id=?" + self.sql.lock,
                               (vid,)))
            if row is None or row["state"] != PENDING:
                raise ArtifactConflict("the artifact is committed: its manifest cannot change")
            tx.rows("DELETE FROM artifact_files WHERE version_id=?", (vid,))
            for i in range(0, len(entries), 500):
                chunk = entries[i : i + 500]
                marks = ", ".join("(?, ?, ?, ?, ?)" for _ in chunk)
                params = [x for e in chunk for x in (vid, e.name, e.digest, e.size, e.ref)]
                tx.rows("INSERT INTO artifact_files (version_id, name, digest, size, ref)"
                        f" VALUES {marks}", params)
            tx.rows("UPDATE artifact_versions SET manifest_digest=?, size=?, file_count=?,"
                    " updated_at=? WHERE id=?",
                    (manifest_digest, sum(e.size for e in entries), len(entries), time.time(),
                     vid))

    def commit(self, vid: int) -> Row:
        """Number a PENDING version (the collection's next), give it ``latest`` and its
        aliases; refused while a body it lists was never uploaded. Committing a committed
        version again changes nothing (a client's retry)."""
        now = time.time()
        with self._w() as tx:
            row = _one(tx.rows("SELECT * FROM artifact_versions WHERE id=?" + self.sql.lock,
                               (vid,)))  # the version first, then its collection: no cycle
            if row is None:
                raise ArtifactConflict("artifact not found")
            if row["state"] == COMMITTED:
                return tx.rows(_VERSION + " WHERE v.id=?", (vid,))[0]
            if row["manifest_digest"] is None:
                raise ArtifactConflict("the artifact has no manifest yet")
            entity = tx.rows("SELECT entity FROM artifact_collections WHERE id=?",
                             (row["collection_id"],))[0]["entity"]
            missing = tx.rows(
                "SELECT f.name FROM artifact_files f LEFT JOIN artifact_blobs b ON"
                " b.entity=? AND b.digest=f.digest WHERE f.version_id=? AND f.ref IS NULL"
                " AND b.digest IS NULL ORDER BY f.name LIMIT 5", (entity, vid))
            if missing:
                names = ", ".join(repr(m["name"]) for m in missing)
                raise ArtifactConflict(f"cannot commit: files never uploaded: {names}")
            cid = row["collection_id"]
            tx.rows("SELECT id FROM artifact_collections WHERE id=?" + self.sql.lock, (cid,))
            top = tx.rows("SELECT MAX(version_index) AS top FROM artifact_versions"
                          " WHERE collection_id=?", (cid,))[0]["top"]
            index = 0 if top is None else int(top) + 1
            tx.rows("UPDATE artifact_versions SET state=?, version_index=?, updated_at=?"
                    " WHERE id=?", (COMMITTED, index, now, vid))
            for alias in [LATEST, *json.loads(row["aliases"] or "[]")]:
                self._alias(tx, cid, alias, vid)
            return tx.rows(_VERSION + " WHERE v.id=?", (vid,))[0]

    def _alias(self, tx: Tx, cid: int, alias: str, vid: int) -> None:
        tx.rows("INSERT INTO artifact_aliases (collection_id, alias, version_id) VALUES"
                " (?, ?, ?) ON CONFLICT (collection_id, alias) DO UPDATE SET"
                " version_id = excluded.version_id", (cid, alias, vid))

    def resolve(self, cid: int, kind: str, alias: str) -> Row | None:
        """The committed version ``alias`` names in a collection: ``vN`` or an alias."""
        with self._r() as tx:
            if alias[:1] == "v" and alias[1:].isdigit():
                n = int(alias[1:])
                if kind == PORTFOLIO:
                    link = _one(tx.rows("SELECT version_id FROM artifact_links WHERE"
                                        " collection_id=? AND version_index=?", (cid, n)))
                    vid = None if link is None else int(link["version_id"])
                    return None if vid is None else _one(tx.rows(_VERSION + " WHERE v.id=?",
                                                                 (vid,)))
                return _one(tx.rows(_VERSION + " WHERE v.collection_id=? AND"
                                    " v.version_index=? AND v.state=?", (cid, n, COMMITTED)))
            return _one(tx.rows(_VERSION + " JOIN artifact_aliases a ON a.version_id = v.id"
                                " WHERE a.collection_id=? AND a.alias=? AND v.state=?",
                                (cid, alias, COMMITTED)))

    def versions(self, cid: int, kind: str, limit: int) -> list[Row]:
        """A collection's committed versions, newest first (a portfolio's by link)."""
        with self._r() as tx:
            if kind == PORTFOLIO:
                return tx.rows(_VERSION + " JOIN artifact_links l ON l.version_id = v.id"
                               " WHERE l.collection_id=? ORDER BY l.version_index DESC"
                               " LIMIT ?", (cid, limit))
            return tx.rows(_VERSION + " WHERE v.collection_id=? AND v.state=?"
                           " ORDER BY v.version_index DESC LIMIT ?", (cid, COMMITTED, limit))

    # ------------------------------------------------------------------ aliases, links

    def aliases(self, vid: int) -> list[Row]:
        """(collection_id, collection name, alias) of every alias naming the version."""
        with self._r() as tx:
            return tx.rows("SELECT a.collection_id, a.alias, c.name AS collection_name,"
                           " c.kind, c.entity, c.project FROM artifact_aliases a JOIN"
                           " artifact_collections c ON c.id = a.collection_id"
                           " WHERE a.version_id=? ORDER BY a.alias", (vid,))

    def add_aliases(self, vid: int, cid: int, aliases: list[str]) -> None:
        with self._w() as tx:
            for alias in aliases:
                self._alias(tx, cid, alias, vid)

    def delete_aliases(self, vid: int, cid: int, aliases: list[str]) -> None:
        with self._w() as tx:
            for alias in aliases:
                tx.rows("DELETE FROM artifact_aliases WHERE collection_id=? AND alias=? AND"
                        " version_id=?", (cid, alias, vid))

    def link(self, vid: int, entity: str, project: str, name: str, type_name: str,
             aliases: list[str]) -> int:
        """Link a committed version into the portfolio ``name`` (made if new); its index
        there (the same index when linked again)."""
        now = time.time()
        with self._w() as tx:
            coll = self._collection(tx, entity, project, name, type_name, PORTFOLIO, now)
            cid = coll["id"]
            tx.rows("SELECT id FROM artifact_collections WHERE id=?" + self.sql.lock, (cid,))
            have = _one(tx.rows("SELECT version_index FROM artifact_links WHERE"
                                " collection_id=? AND version_id=?", (cid, vid)))
            if have is not None:
                index = int(have["version_index"])
            else:
                top = tx.rows("SELECT MAX(version_index) AS top FROM artifact_links WHERE"
                              " collection_id=?", (cid,))[0]["top"]
                index = 0 if top is None else int(top) + 1
                tx.rows("INSERT INTO artifact_links (collection_id, version_index, version_id,"
                        " created_at) VALUES (?, ?, ?, ?)", (cid, index, vid, now))
            for alias in [LATEST, *aliases]:
                self._alias(tx, cid, alias, vid)
            return index

    def links_of(self, vid: int) -> list[Row]:
        with self._r() as tx:
            return tx.rows("SELECT * FROM artifact_links WHERE version_id=?", (vid,))

    # ------------------------------------------------------------------ files, bodies

    def files(self, vid: int, names: list[str] | None, after: str | None,
              limit: int) -> list[Row]:
        """A version's files in name order, after the name ``after``."""
        sql, params = "SELECT * FROM artifact_files WHERE version_id=?", list[Any]([vid])
        if after:
            sql, params = sql + " AND name > ?", [*params, after]
        if names is not None:
            sql += f" AND name IN ({', '.join('?' for _ in names) or 'NULL'})"
            params += names
        with self._r() as tx:
            return tx.rows(sql + " ORDER BY name LIMIT ?", [*params, limit])

    def file_count(self, vid: int, names: list[str] | None) -> int:
        sql = "SELECT COUNT(*) AS n FROM artifact_files WHERE version_id=?"
        params = list[Any]([vid])
        if names is not None:
            sql += f" AND name IN ({', '.join('?' for _ in names) or 'NULL'})"
            params += names
        with self._r() as tx:
            return int(tx.rows(sql, params)[0]["n"])

    def known_blobs(self, entity: str, digests: list[str]) -> set[str]:
        """Which of ``digests`` the entity's store already holds."""
        out: set[str] = set()
        with self._r() as tx:
            for i in range(0, len(digests), 500):
                chunk = digests[i : i + 500]
                marks = ", ".join("?" for _ in chunk)
                out |= {r["digest"] for r in tx.rows(
                    f"SELECT digest FROM artifact_blobs WHERE entity=? AND digest IN ({marks})",
                    [entity, *chunk])}
        return out

    def blob(self, entity: str, digest: str) -> Row | None:
        with self._r() as tx:
            return _one(tx.rows("SELECT * FROM artifact_blobs WHERE entity=? AND digest=?",
                                (entity, digest)))

    def add_blob(self, entity: str, digest: str, size: int, vid: int | None) -> None:
        """A verified body is stored: known from now on; its bytes counted on the version
        whose upload URL carried it (``received_bytes``)."""
        with self._w() as tx:
            tx.rows("INSERT INTO artifact_blobs (entity, digest, size, created_at) VALUES"
                    " (?, ?, ?, ?) ON CONFLICT (entity, digest) DO NOTHING",
                    (entity, digest, size, time.time()))
            if vid is not None:
                tx.rows("UPDATE artifact_versions SET received_bytes = received_bytes + ?"
                        " WHERE id=?", (size, vid))

    # ------------------------------------------------------------------ lineage

    def use(self, vid: int, run_rid: int) -> None:
        with self._w() as tx:
            tx.rows("INSERT INTO artifact_usage (version_id, run_rid, created_at) VALUES"
                    " (?, ?, ?) ON CONFLICT (version_id, run_rid) DO NOTHING",
                    (vid, run_rid, time.time()))

    def users(self, vid: int) -> list[int]:
        with self._r() as tx:
            return [int(r["run_rid"]) for r in tx.rows(
                "SELECT run_rid FROM artifact_usage WHERE version_id=? ORDER BY created_at",
                (vid,))]

    def run_of(self, rid: int) -> Row | None:
        with self._r() as tx:
            return _one(tx.rows("SELECT * FROM runs WHERE rid=?", (rid,)))

    def logged_by_run(self, rid: int, offset: int = 0, limit: int = 1000) -> list[Row]:
        """The committed versions a run logged, oldest first: ``limit`` from ``offset``."""
        with self._r() as tx:
            return tx.rows(_VERSION + " WHERE v.run_rid=? AND v.state=? ORDER BY v.id"
                           " LIMIT ? OFFSET ?", (rid, COMMITTED, limit, offset))

    def run_counts(self, rid: int) -> tuple[int, int]:
        """How many committed versions a run logged and used."""
        with self._r() as tx:
            logged = tx.rows("SELECT COUNT(*) AS n FROM artifact_versions WHERE run_rid=? AND"
                             " state=?", (rid, COMMITTED))[0]["n"]
            used = tx.rows("SELECT COUNT(*) AS n FROM artifact_usage u JOIN artifact_versions v"
                           " ON v.id = u.version_id WHERE u.run_rid=? AND v.state=?",
                           (rid, COMMITTED))[0]["n"]
        return int(logged), int(used)

    def used_by_run(self, rid: int, offset: int = 0, limit: int = 1000) -> list[Row]:
        """The committed versions a run used, in the order it first used them."""
        with self._r() as tx:
            return tx.rows(_VERSION + " JOIN artifact_usage u ON u.version_id = v.id"
                           " WHERE u.run_rid=? AND v.state=? ORDER BY u.created_at, v.id"
                           " LIMIT ? OFFSET ?", (rid, COMMITTED, limit, offset))

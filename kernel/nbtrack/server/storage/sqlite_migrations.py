"""The SQLite schema, as versioned migrations applied in place at open.

``MIGRATIONS[i]`` brings the schema to version ``i + 1``; append only. :func:`migrate`
applies the missing ones, each with its version bump in one ``BEGIN IMMEDIATE``
transaction, so two processes opening one file at once never apply one twice.
"""

from __future__ import annotations

import sqlite3

# Versioned migrations: MIGRATIONS[i] brings the schema to version i + 1. Append only.
MIGRATIONS: list[list[str]] = [
    # 1: runs and their lines and files
    [
        """CREATE TABLE IF NOT EXISTS runs (
            rid INTEGER PRIMARY KEY AUTOINCREMENT,
            entity TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL,
            display_name TEXT, description TEXT, notes TEXT, group_name TEXT, job_type TEXT,
            tags TEXT NOT NULL DEFAULT '[]', host TEXT, sweep_name TEXT,
            config TEXT NOT NULL DEFAULT '{}', summary TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'running', exit_code INTEGER,
            created_at REAL NOT NULL, updated_at REAL NOT NULL, heartbeat_at REAL NOT NULL,
            history_line_count INTEGER NOT NULL DEFAULT 0,
            events_line_count INTEGER NOT NULL DEFAULT 0,
            log_line_count INTEGER NOT NULL DEFAULT 0,
            last_step INTEGER,
            UNIQUE (entity, project, name)
        )""",
        """CREATE TABLE IF NOT EXISTS history (
            rid INTEGER NOT NULL, line INTEGER NOT NULL, step INTEGER, data TEXT NOT NULL,
            PRIMARY KEY (rid, line)
        ) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS history_step ON history (rid, step)",
        """CREATE TABLE IF NOT EXISTS events (
            rid INTEGER NOT NULL, line INTEGER NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (rid, line)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS output (
            rid INTEGER NOT NULL, line INTEGER NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (rid, line)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS lines (
            rid INTEGER NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (rid, file, line)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS files (
            rid INTEGER NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
            updated_at REAL NOT NULL, PRIMARY KEY (rid, name)
        ) WITHOUT ROWID""",
    ],
    # 2: accounts: users, team memberships, API keys (hashes only)
    [
        """CREATE TABLE users (
            name TEXT PRIMARY KEY, created_at REAL NOT NULL
        )""",
        """CREATE TABLE members (
            team TEXT NOT NULL, user_name TEXT NOT NULL REFERENCES users (name),
            PRIMARY KEY (team, user_name)
        )""",
        """CREATE TABLE api_keys (
            key_id TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users (name),
            key_hash TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL
        )""",
        "CREATE INDEX api_keys_user ON api_keys (user_name)",
    ],
    # 3: the order of a run's updates: the sequence number (wire/ordering.py) of the
    # request that set the config, the summary and the state last (0: none given)
    [
        "ALTER TABLE runs ADD COLUMN config_seq INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN summary_seq INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN state_seq INTEGER NOT NULL DEFAULT 0",
    ],
    # 4: what replicas share instead of keeping it in memory: upload-signing keys (newest
    # signs, the previous one is still accepted), page sessions and one-time login codes
    # (``kind`` 'session' or 'code', by the sha256 of the id; the principal as JSON)
    [
        """CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY, secret TEXT NOT NULL, created_at REAL NOT NULL
        )""",
        """CREATE TABLE secrets (
            kind TEXT NOT NULL, digest TEXT NOT NULL, principal TEXT NOT NULL,
            expires_at REAL NOT NULL, PRIMARY KEY (kind, digest)
        )""",
        "CREATE INDEX secrets_expiry ON secrets (expires_at)",
    ],
    # 5: artifacts (docs/artifacts.md): types and collections (a sequence of versions, or a
    # portfolio of links) by name per project; versions PENDING until committed, numbered
    # per collection at commit; aliases per collection; a version's files by digest; the
    # bodies themselves once per entity and digest (``artifact_blobs``); who used a version
    [
        """CREATE TABLE artifact_types (
            id INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL, project TEXT NOT NULL,
            name TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (entity, project, name)
        )""",
        """CREATE TABLE artifact_collections (
            id INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL, project TEXT NOT NULL,
            name TEXT NOT NULL, type_id INTEGER NOT NULL REFERENCES artifact_types (id),
            kind TEXT NOT NULL, description TEXT, created_at REAL NOT NULL,
            UNIQUE (entity, project, name)
        )""",
        """CREATE TABLE artifact_versions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            collection_id INTEGER NOT NULL REFERENCES artifact_collections (id),
            version_index INTEGER, state TEXT NOT NULL, digest TEXT NOT NULL,
            description TEXT, metadata TEXT NOT NULL DEFAULT '{}',
            aliases TEXT NOT NULL DEFAULT '[]',
            run_rid INTEGER, history_step INTEGER, client_id TEXT,
            manifest_digest TEXT, size INTEGER NOT NULL DEFAULT 0,
            file_count INTEGER NOT NULL DEFAULT 0,
            received_bytes INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL, updated_at REAL NOT NULL,
            UNIQUE (collection_id, version_index)
        )""",
        "CREATE INDEX artifact_versions_digest ON artifact_versions (collection_id, digest)",
        "CREATE INDEX artifact_versions_run ON artifact_versions (run_rid)",
        """CREATE TABLE artifact_links (
            collection_id INTEGER NOT NULL REFERENCES artifact_collections (id),
            version_index INTEGER NOT NULL,
            version_id INTEGER NOT NULL REFERENCES artifact_versions (id),
            created_at REAL NOT NULL, PRIMARY KEY (collection_id, version_index),
            UNIQUE (collection_id, version_id)
        )""",
        """CREATE TABLE artifact_aliases (
            collection_id INTEGER NOT NULL REFERENCES artifact_collections (id),
            alias TEXT NOT NULL, version_id INTEGER NOT NULL REFERENCES artifact_versions (id),
            PRIMARY KEY (collection_id, alias)
        )""",
        """CREATE TABLE artifact_files (
            version_id INTEGER NOT NULL REFERENCES artifact_versions (id), name TEXT NOT NULL,
            digest TEXT NOT NULL, size INTEGER NOT NULL, ref TEXT, PRIMARY KEY (version_id, name)
        )""",
        """CREATE TABLE artifact_blobs (
            entity TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL,
            created_at REAL NOT NULL, PRIMARY KEY (entity, digest)
        )""",
        """CREATE TABLE artifact_usage (
            version_id INTEGER NOT NULL REFERENCES artifact_versions (id), run_rid INTEGER NOT NULL,
            created_at REAL NOT NULL, PRIMARY KEY (version_id, run_rid)
        )""",
        "CREATE INDEX artifact_usage_run ON artifact_usage (run_rid)",
    ],
]


def migrate(db: sqlite3.Connection, upto: int | None = None) -> int:
    """Apply the missing migrations (up to version ``upto``); returns the version now.

    ``db`` must be in autocommit mode (``isolation_level=None``): each migration runs in
    its own ``BEGIN IMMEDIATE`` transaction together with the version bump.
    """
    target = len(MIGRATIONS) if upto is None else upto
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT version FROM schema_version").fetchone()
    version = 0 if row is None else int(row[0])
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema {version} is newer than this server ({len(MIGRATIONS)})"
        )
    while version < target:
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT version FROM schema_version").fetchone()
            current = 0 if row is None else int(row[0])
            if current == version:  # not applied meanwhile by another process
                for stmt in MIGRATIONS[version]:
                    db.execute(stmt)
                if row is None:
                    db.execute("INSERT INTO schema_version VALUES (?)", (version + 1,))
                else:
                    db.execute("UPDATE schema_version SET version=?", (version + 1,))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        version = max(version + 1, current)
    return version

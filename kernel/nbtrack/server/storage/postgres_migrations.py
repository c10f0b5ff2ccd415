"""The PostgreSQL schema, as versioned migrations applied in place at open.

``MIGRATIONS[i]`` brings the schema to version ``i + 1``; append only. :func:`migrate`
applies the missing ones, each with its version bump in one transaction, under an advisory
lock so two servers starting at once never apply one twice.
"""

from __future__ import annotations

from typing import Any

import psycopg

# Versioned migrations: MIGRATIONS[i] brings the schema to version i + 1. Append only.
MIGRATIONS: list[list[str]] = [
    # 1: runs and their lines and files
    [
        """CREATE TABLE runs (
            rid BIGSERIAL PRIMARY KEY,
            entity TEXT NOT NULL, project TEXT NOT NULL, name TEXT NOT NULL,
            display_name TEXT, description TEXT, notes TEXT, group_name TEXT, job_type TEXT,
            tags TEXT NOT NULL DEFAULT '[]', host TEXT, sweep_name TEXT,
            config TEXT NOT NULL DEFAULT '{}', summary TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'running', exit_code INTEGER,
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
            heartbeat_at DOUBLE PRECISION NOT NULL,
            history_line_count BIGINT NOT NULL DEFAULT 0,
            events_line_count BIGINT NOT NULL DEFAULT 0,
            log_line_count BIGINT NOT NULL DEFAULT 0,
            last_step BIGINT,
            UNIQUE (entity, project, name)
        )""",
        """CREATE TABLE history (
            rid BIGINT NOT NULL, line BIGINT NOT NULL, step BIGINT, data TEXT NOT NULL,
            PRIMARY KEY (rid, line)
        )""",
        "CREATE INDEX history_step ON history (rid, step)",
        """CREATE TABLE events (
            rid BIGINT NOT NULL, line BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (rid, line)
        )""",
        """CREATE TABLE output (
            rid BIGINT NOT NULL, line BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (rid, line)
        )""",
        """CREATE TABLE lines (
            rid BIGINT NOT NULL, file TEXT NOT NULL, line BIGINT NOT NULL, data TEXT NOT NULL,
            PRIMARY KEY (rid, file, line)
        )""",
        """CREATE TABLE files (
            rid BIGINT NOT NULL, name TEXT NOT NULL, size BIGINT NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (rid, name)
        )""",
    ],
    # 2: accounts: users, team memberships, API keys (hashes only)
    [
        """CREATE TABLE users (
            name TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE members (
            team TEXT NOT NULL, user_name TEXT NOT NULL REFERENCES users (name),
            PRIMARY KEY (team, user_name)
        )""",
        """CREATE TABLE api_keys (
            key_id TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users (name),
            key_hash TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
            revoked_at DOUBLE PRECISION
        )""",
        "CREATE INDEX api_keys_user ON api_keys (user_name)",
    ],
    # 3: the order of a run's updates: the sequence number (wire/ordering.py) of the
    # request that set the config, the summary and the state last (0: none given)
    [
        "ALTER TABLE runs ADD COLUMN config_seq BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN summary_seq BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN state_seq BIGINT NOT NULL DEFAULT 0",
    ],
    # 4: what replicas share instead of keeping it in memory: upload-signing keys (newest
    # signs, the previous one is still accepted), page sessions and one-time login codes
    # (``kind`` 'session' or 'code', by the sha256 of the id; the principal as JSON)
    [
        """CREATE TABLE signing_keys (
            kid TEXT PRIMARY KEY, secret TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE secrets (
            kind TEXT NOT NULL, digest TEXT NOT NULL, principal TEXT NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (kind, digest)
        )""",
        "CREATE INDEX secrets_expiry ON secrets (expires_at)",
    ],
    # 5: artifacts (docs/artifacts.md): types and collections (a sequence of versions, or a
    # portfolio of links) by name per project; versions PENDING until committed, numbered
    # per collection at commit; aliases per collection; a version's files by digest; the
    # bodies themselves once per entity and digest (``artifact_blobs``); who used a version
    [
        """CREATE TABLE artifact_types (
            id BIGSERIAL PRIMARY KEY, entity TEXT NOT NULL, project TEXT NOT NULL,
            name TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, UNIQUE (entity, project, name)
        )""",
        """CREATE TABLE artifact_collections (
            id BIGSERIAL PRIMARY KEY, entity TEXT NOT NULL, project TEXT NOT NULL,
            name TEXT NOT NULL, type_id BIGINT NOT NULL REFERENCES artifact_types (id),
            kind TEXT NOT NULL, description TEXT, created_at DOUBLE PRECISION NOT NULL,
            UNIQUE (entity, project, name)
        )""",
        """CREATE TABLE artifact_versions (
            id BIGSERIAL PRIMARY KEY,
            collection_id BIGINT NOT NULL REFERENCES artifact_collections (id),
            version_index BIGINT, state TEXT NOT NULL, digest TEXT NOT NULL,
            description TEXT, metadata TEXT NOT NULL DEFAULT '{}',
            aliases TEXT NOT NULL DEFAULT '[]',
            run_rid BIGINT, history_step BIGINT, client_id TEXT,
            manifest_digest TEXT, size BIGINT NOT NULL DEFAULT 0,
            file_count BIGINT NOT NULL DEFAULT 0,
            received_bytes BIGINT NOT NULL DEFAULT 0,
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL,
            UNIQUE (collection_id, version_index)
        )""",
        "CREATE INDEX artifact_versions_digest ON artifact_versions (collection_id, digest)",
        "CREATE INDEX artifact_versions_run ON artifact_versions (run_rid)",
        """CREATE TABLE artifact_links (
            collection_id BIGINT NOT NULL REFERENCES artifact_collections (id),
            version_index BIGINT NOT NULL,
            version_id BIGINT NOT NULL REFERENCES artifact_versions (id),
            created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (collection_id, version_index),
            UNIQUE (collection_id, version_id)
        )""",
        """CREATE TABLE artifact_aliases (
            collection_id BIGINT NOT NULL REFERENCES artifact_collections (id),
            alias TEXT NOT NULL, version_id BIGINT NOT NULL REFERENCES artifact_versions (id),
            PRIMARY KEY (collection_id, alias)
        )""",
        """CREATE TABLE artifact_files (
            version_id BIGINT NOT NULL REFERENCES artifact_versions (id), name TEXT NOT NULL,
            digest TEXT NOT NULL, size BIGINT NOT NULL, ref TEXT, PRIMARY KEY (version_id, name)
        )""",
        """CREATE TABLE artifact_blobs (
            entity TEXT NOT NULL, digest TEXT NOT NULL, size BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (entity, digest)
        )""",
        """CREATE TABLE artifact_usage (
            version_id BIGINT NOT NULL REFERENCES artifact_versions (id), run_rid BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (version_id, run_rid)
        )""",
        "CREATE INDEX artifact_usage_run ON artifact_usage (run_rid)",
    ],
]

_MIGRATION_LOCK = 0x6E62_7472  # pg_advisory_xact_lock key: one migrating server at a time


def migrate(conn: psycopg.Connection[Any], upto: int | None = None) -> int:
    """Apply the missing migrations (up to version ``upto``); returns the version now.

    Each migration and its version bump commit together; an advisory lock keeps two
    servers starting at once from applying the same migration twice.
    """
    target = len(MIGRATIONS) if upto is None else upto
    version = 0
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = 0 if row is None else int(row[0])
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"database schema {version} is newer than this server ({len(MIGRATIONS)})"
                )
            if version >= target:
                return version
            for stmt in MIGRATIONS[version]:
                conn.execute(stmt)
            if row is None:
                conn.execute("INSERT INTO schema_version VALUES (%s)", (version + 1,))
            else:
                conn.execute("UPDATE schema_version SET version=%s", (version + 1,))

"""Which storage a database URL opens, and how a URL is written in logs.

Its own module so the interface (:mod:`.base`) never imports a backend: the backends import
the interface, this module imports the backends, and PostgreSQL's driver is loaded only when
such a URL is used.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbtrack.server.storage.base import Storage


def open_storage(url: str, *, pool_size: int = 16) -> Storage:
    """Storage from a URL: ``sqlite:///path``, a plain path, or ``postgresql://...``."""
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from nbtrack.server.storage.postgres import PostgresStorage
        except ImportError as e:  # psycopg is the optional extra nbtrack[team]
            raise RuntimeError(
                f"PostgreSQL needs psycopg 3: pip install 'nbtrack[team]' ({e})"
            ) from None
        return PostgresStorage(url, max_size=pool_size)
    from nbtrack.server.storage.sqlite import SqliteStorage

    if url.startswith("sqlite:///"):
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute.db
        return SqliteStorage(Path(url[len("sqlite:///") :]))
    if "://" in url:
        raise ValueError(f"unsupported database URL scheme: {url.split('://', 1)[0]}")
    return SqliteStorage(Path(url))


def redact(url: str) -> str:
    """A database URL without its password, for logs."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)

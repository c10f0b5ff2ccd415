"""Team-server tests: a private PostgreSQL for the session (fails, never skips)."""

from __future__ import annotations

from helpers.postgres import postgres_cluster, postgres_url  # noqa: F401  (fixtures)

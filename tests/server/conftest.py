"""Every server test that starts a server runs twice: on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from helpers.postgres import postgres_cluster, postgres_url  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgres"])
def server_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)

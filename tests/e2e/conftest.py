"""Fixtures for end-to-end tests: a local NBTRACK_DIR whose embedded server is stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def local_home(nbtrack_dir: Path) -> Iterator[Path]:
    """NBTRACK_DIR for mode='local'; the server the kernel side starts is stopped at teardown."""
    yield nbtrack_dir
    from nbtrack.client.localserver import stop_local_server

    stop_local_server(nbtrack_dir)

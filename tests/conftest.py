"""Shared fixtures: a real nbtrack server on 127.0.0.1 and an isolated NBTRACK_DIR."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.server import live_server, server_factory  # noqa: F401  (fixtures)


@pytest.fixture
def nbtrack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty NBTRACK_DIR with every NBTRACK_* variable cleared."""
    for name in list(os.environ):
        if name.startswith("NBTRACK_"):
            monkeypatch.delenv(name)
    root = tmp_path / "nbtrack-home"
    root.mkdir()
    monkeypatch.setenv("NBTRACK_DIR", str(root))
    yield root

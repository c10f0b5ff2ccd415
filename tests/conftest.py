"""Shared fixtures: a real nbtrack server on 127.0.0.1 and an isolated NBTRACK_DIR."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.server import live_server, server_backend, server_factory  # noqa: F401  (fixtures)


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


@pytest.fixture(scope="session", autouse=True)
def _stop_detached_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Kernels and notebooks under test start detached local servers: stop them all."""
    yield
    from nbtrack.client.localserver import stop_local_server

    base = tmp_path_factory.getbasetemp()
    for state in base.rglob("server/state.json"):
        try:
            stop_local_server(state.parent.parent)
        except Exception as exc:  # a stuck server must not hide the test results
            print(f"could not stop the server of {state}: {exc}")

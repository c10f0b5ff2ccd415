"""Reliability suites: short by default (CI), long with ``NBTRACK_LONG=1``.

``pick(short, long)`` chooses a parameter by the mode: every test runs in both, the long
version (``bash scripts/reliability.sh`` or ``NBTRACK_LONG=1 python -m pytest
tests/reliability``) with more seeds, rounds, steps and examples. Figures measured by the
tests are appended as JSON lines to ``$NBTRACK_FIGURES`` when set
(``scripts/reliability.sh`` collects them for ``docs/reliability.md``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def short_client_timeout(nbtrack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """The sender's read timeout cut from 10 s to 1.5 s, so 'slower than the timeout'
    faults cost seconds, not minutes (the behaviour under test is the same)."""
    monkeypatch.setenv("NBTRACK_HTTP_TIMEOUT", "1.5")  # after nbtrack_dir cleared NBTRACK_*
    yield 1.5


@pytest.fixture
def home(nbtrack_dir: Path) -> Iterator[Path]:
    """NBTRACK_DIR; a local server the kernel side started there is stopped after."""
    yield nbtrack_dir
    from nbtrack.client.localserver import stop_local_server

    stop_local_server(nbtrack_dir)

"""Feature tests run against a real server in a subprocess, in online mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import nbtrack


@pytest.fixture
def online(nbtrack_dir: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Callable[..., nbtrack.Run]]:
    """``online(**init_kwargs)`` starts a run on the test server; open runs finish at teardown."""
    monkeypatch.setenv("NBTRACK_STATS_INTERVAL", "0")  # per test: on only where it is tested
    started: list[nbtrack.Run] = []

    def start(**kw: Any) -> nbtrack.Run:
        kw.setdefault("project", "features")
        run = nbtrack.init(mode="online", base_url=live_server.url, api_key=live_server.token,
                           **kw)
        started.append(run)
        return run

    yield start
    for run in started:
        run.finish(quiet=True, timeout=10)


@pytest.fixture
def api(live_server: Any) -> nbtrack.Api:
    return nbtrack.Api(live_server.url, live_server.token)

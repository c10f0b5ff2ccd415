"""A small version of benchmarks/team_load.py: concurrent runs from several processes,
one chunk re-sent per run, every row stored exactly once, on both backends."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers.server import start_server

# The benchmark itself is under test (its run_load at a small size), not a shared helper:
# it stays in benchmarks/, a script directory that is no package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import team_load


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_small_team_load_stores_every_row_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "postgres":
        db = request.getfixturevalue("postgres_cluster").create_database()
    else:
        db = f"sqlite:///{tmp_path}/load.db"
    key = team_load._bench_key(db)
    srv = start_server(tmp_path / "srv", db=db, state_file=tmp_path / "state.json")
    try:
        out = team_load.run_load(srv.url, key, procs=2, runs=6, steps=600, chunk=100)
    finally:
        srv.stop()
    assert out["rows"] == 3600 and out["posts"] == 6 * 7  # 6 chunks + 1 re-sent, per run
    assert out["rows_per_s"] > 0 and out["latency_ms"]["p50"] > 0

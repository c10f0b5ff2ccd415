"""Acceptance: offline writes only the log; sync delivers it; a second sync adds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbtrack
from nbtrack.txlog import read_records


def _cli(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ, NBTRACK_DIR=str(env_dir))
    return subprocess.run([sys.executable, "-m", "nbtrack", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_offline_then_sync_twice(local_home: Path) -> None:
    run = nbtrack.init(project="offline", mode="offline", config={"seed": 1})
    for i in range(2_000):
        run.log({"v": float(i), "w": i * 2})
    run.finish(quiet=True)
    assert run.sync_command and str(run.log_path) in run.sync_command
    assert not (local_home / "server" / "state.json").exists(), "offline must not start a server"
    kinds = {r.WhichOneof("record_type") for r in read_records(run.log_path)}
    assert {"run", "history", "exit", "final"} <= kinds

    first = _cli("sync", str(run.log_path), env_dir=local_home)
    assert first.returncode == 0, first.stderr
    assert "2000 history rows" in first.stdout
    api = nbtrack.Api()
    runs = api.runs(project="offline")
    assert len(runs) == 1
    synced = runs[0]
    assert synced.state == "finished"
    assert synced.config == {"seed": 1}
    rows = synced.history()
    assert [r["v"] for r in rows] == [float(i) for i in range(2_000)]

    second = _cli("sync", str(run.dir), env_dir=local_home)
    assert second.returncode == 0, second.stderr
    assert len(api.run(synced.path).history()) == 2_000


def test_verify_reports_counts(local_home: Path) -> None:
    run = nbtrack.init(project="offline", mode="offline")
    for i in range(100):
        run.log({"v": i})
    run.finish(quiet=True)
    out = _cli("verify", str(run.log_path), env_dir=local_home)
    assert out.returncode == 0, out.stderr
    assert "history" in out.stdout and "100" in out.stdout

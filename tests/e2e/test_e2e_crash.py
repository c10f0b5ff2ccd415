"""Acceptance: a process killed with SIGKILL mid-run leaves a log that verify and sync read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import nbtrack

from helpers.txlogs import logged_rows, wait_rows_logged
from helpers.wait import wait_until

# Logs until it is killed; the test kills it once enough rows are on disk.
SCRIPT = textwrap.dedent("""
    import json, sys
    import nbtrack
    run = nbtrack.init(project="crash", mode=sys.argv[1])
    print(json.dumps({"log": str(run.log_path), "path": run.path}), flush=True)
    i = 0
    while True:
        run.log({"i": i, "x": i * 0.5})
        i += 1
""")
# Rows the log must hold before the kill: more than the writer's buffer, so the test
# sees that whatever had been flushed survives SIGKILL (and that sync sends it once).
ROWS_BEFORE_KILL = 2_000


def _start(mode: str, home: Path) -> tuple[subprocess.Popen[str], dict]:
    env = dict(os.environ, NBTRACK_DIR=str(home))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info


def _server_last_step(path: str) -> int | None:
    """The last step the local server holds of run ``path`` (None: no row, or no run yet)."""
    try:
        return nbtrack.Api().run(path).last_step  # type: ignore[no-any-return]
    except Exception:  # the run is not on the server yet (or the server not up)
        return None


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NBTRACK_DIR=str(home))
    return subprocess.run([sys.executable, "-m", "nbtrack", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_sigkill_mid_run_then_verify_and_sync(local_home: Path) -> None:
    proc, info = _start("offline", local_home)
    wait_rows_logged(info["log"], ROWS_BEFORE_KILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    verify = _cli(local_home, "verify", info["log"])
    assert verify.returncode in (0, 1), verify.stderr
    assert "history" in verify.stdout

    rows = logged_rows(info["log"])
    assert len(rows) >= ROWS_BEFORE_KILL, "rows on disk before the kill were lost"
    assert [r["i"] for r in rows] == list(range(len(rows)))

    sync = _cli(local_home, "sync", info["log"])
    assert sync.returncode == 0, sync.stderr
    runs = nbtrack.Api().runs(project="crash")
    assert len(runs) == 1
    run = runs[0]
    assert run.state == "crashed"
    stored = [r["i"] for r in run.history()]
    # sync completed the log from the write-ahead ring first: more than was on disk
    assert stored == list(range(len(stored))) and len(stored) >= len(rows)
    assert [r["i"] for r in logged_rows(info["log"])] == stored


def test_sigkill_in_local_mode_keeps_what_was_sent(local_home: Path) -> None:
    proc, info = _start("local", local_home)
    wait_rows_logged(info["log"], ROWS_BEFORE_KILL)
    # and some of them were sent before the kill: sync must not send those twice
    wait_until(lambda: _server_last_step(info["path"]) is not None, timeout=30,
               message="the local server never got a row before the kill")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    sync = _cli(local_home, "sync", info["log"])
    assert sync.returncode == 0, sync.stderr
    run = nbtrack.Api().run(info["path"])
    assert run.state == "crashed"
    stored = [r["i"] for r in run.history()]
    assert stored == list(range(len(stored))), "no gaps, no duplicates after sync"
    assert len(stored) >= ROWS_BEFORE_KILL

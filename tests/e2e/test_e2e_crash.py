"""Acceptance: a process killed with SIGKILL mid-run leaves a log that verify and sync read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbtrack

SCRIPT = textwrap.dedent("""
    import json, sys, time
    import nbtrack
    run = nbtrack.init(project="crash", mode=sys.argv[1])
    print(json.dumps({"log": str(run.log_path), "path": run.path}), flush=True)
    i = 0
    while True:
        run.log({"i": i, "x": i * 0.5})
        i += 1
        if i % 500 == 0:
            time.sleep(0.01)
""")


def _start(mode: str, home: Path) -> tuple[subprocess.Popen[str], dict]:
    env = dict(os.environ, NBTRACK_DIR=str(home))
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return proc, info


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NBTRACK_DIR=str(home))
    return subprocess.run([sys.executable, "-m", "nbtrack", *args], capture_output=True,
                          text=True, env=env, timeout=120)


def test_sigkill_mid_run_then_verify_and_sync(local_home: Path) -> None:
    proc, info = _start("offline", local_home)
    time.sleep(2.5)  # several writer flushes (at least once a second)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    verify = _cli(local_home, "verify", info["log"])
    assert verify.returncode in (0, 1), verify.stderr
    assert "history" in verify.stdout

    from nbtrack.txlog.format import read_records

    rows = [json.loads(r) for rec in read_records(Path(info["log"]))
            if rec.HasField("history") for r in rec.history.rows]
    assert len(rows) > 500, "at least a second's worth of rows reached the log"
    assert [r["i"] for r in rows] == list(range(len(rows)))

    sync = _cli(local_home, "sync", info["log"])
    assert sync.returncode == 0, sync.stderr
    runs = nbtrack.Api().runs(project="crash")
    assert len(runs) == 1
    run = runs[0]
    assert run.state == "crashed"
    stored = run.history()
    assert [r["i"] for r in stored] == [r["i"] for r in rows]


def test_sigkill_in_local_mode_keeps_what_was_sent(local_home: Path) -> None:
    proc, info = _start("local", local_home)
    time.sleep(2.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    sync = _cli(local_home, "sync", info["log"])
    assert sync.returncode == 0, sync.stderr
    run = nbtrack.Api().run(info["path"])
    assert run.state == "crashed"
    stored = [r["i"] for r in run.history()]
    assert stored == list(range(len(stored))), "no gaps, no duplicates after sync"
    assert len(stored) > 500

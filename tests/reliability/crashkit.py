"""Helpers for the crash suites: a logging child process, sync, and the log's truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from nbtrack.txlog import LogReader, read_records

# The child logs STEPS rows (forever when 0, until the test kills it) in paced chunks of
# 200, then finishes.
# KILL_AT_DEFER=<STATE> is a tiny test hook living in this script (not in the product):
# the process SIGKILLs itself the moment finish is about to send that defer state, i.e.
# after every earlier state was answered.
CHILD = textwrap.dedent("""
    import json, os, signal, sys, time
    import nbtrack
    from nbtrack.pipeline import interface
    from nbtrack.proto import nbtrack_pb2 as pb

    target = os.environ.get("KILL_AT_DEFER")
    if target:
        original = interface.Interface.deliver_defer
        def deliver_defer(self, state):
            if pb.DeferRequest.DeferState.Name(state) == target:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, state)
        interface.Interface.deliver_defer = deliver_defer

    run = nbtrack.init(project="crash", mode=os.environ.get("MODE", "online"),
                       config={"lr": 0.5, "layers": [1, 2]})
    print(json.dumps({"log": str(run.log_path), "path": run.path}), flush=True)
    steps = int(os.environ.get("STEPS", "0"))
    i = 0
    while steps == 0 or i < steps:
        run.log({"i": i, "x": i * 0.5})
        i += 1
        if i % 200 == 0:
            # why: a rate, not a wait: the kill points are "the n-th history post", and an
            # unpaced child puts ~10x the rows in each post (mid-logging tests 7 s -> 28 s)
            time.sleep(0.02)
    run.summary["done"] = True
    run.finish(timeout=60, quiet=True)
    print(json.dumps({"finished": run.state}), flush=True)
""")


def start_child(home: Path, url: str, token: str, **env: str) -> subprocess.Popen[str]:
    full = dict(os.environ, NBTRACK_DIR=str(home), NBTRACK_BASE_URL=url,
                NBTRACK_API_KEY=token, **env)
    return subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full)


def cli(home: Path, *args: str, url: str = "", token: str = "",
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NBTRACK_DIR=str(home))
    if url:
        env.update(NBTRACK_BASE_URL=url, NBTRACK_API_KEY=token)
    return subprocess.run([sys.executable, "-m", "nbtrack", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


def logs_under(home: Path) -> list[Path]:
    return sorted(home.rglob("*.nbtrack"))


def log_truth(path: Path) -> dict[str, Any]:
    """What reached the transaction log: rows, whether exit/final are there, damage."""
    rows: list[dict[str, Any]] = []
    kinds: dict[str, int] = {}
    exit_code: int | None = None
    for rec in read_records(path):
        kind = rec.WhichOneof("record_type") or ""
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "history":
            rows.extend(json.loads(r) for r in rec.history.rows)
        elif kind == "exit":
            exit_code = rec.exit.exit_code
    reader = LogReader(path)
    for _ in reader:
        pass
    return {"rows": rows, "kinds": kinds, "exit_code": exit_code,
            "torn_tail": reader.report.torn_tail, "damaged": len(reader.report.damaged)}

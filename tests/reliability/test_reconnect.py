"""The embedded local server a run uses is SIGKILLed; another kernel's
``ensure_local_server`` starts a new one (a new port, a new token, the same directory).
The running run finds it through the state file, every row arrives once, and finish
does not wait out its timeout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbtrack
from nbtrack.client.localserver import find_local_server

from helpers.reliability import record_figure

PER_PHASE = 2_000
FINISH_TIMEOUT = 60.0


def _another_kernel_starts_the_server(home: Path) -> None:
    code = ("from pathlib import Path; import sys; "
            "from nbtrack.client.localserver import ensure_local_server; "
            "print(ensure_local_server(Path(sys.argv[1])).url)")
    done = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, NBTRACK_DIR=str(home)))
    assert done.returncode == 0, done.stderr


def test_run_reconnects_to_a_restarted_local_server(home: Path) -> None:
    run = nbtrack.init(project="reconnect", mode="local", console="off")
    first = find_local_server(home)
    assert first is not None
    for i in range(PER_PHASE):
        run.log({"i": i})
    time.sleep(1.5)  # a post or two reached the first server
    os.kill(first.pid, signal.SIGKILL)
    os.waitpid(first.pid, 0)  # it is this process's child: reap it
    for i in range(PER_PHASE, 2 * PER_PHASE):
        run.log({"i": i})
    time.sleep(1.5)  # the poster meets the dead server
    _another_kernel_starts_the_server(home)
    second = find_local_server(home)
    assert second is not None and second.pid != first.pid
    for i in range(2 * PER_PHASE, 3 * PER_PHASE):
        run.log({"i": i})
    t0 = time.monotonic()
    run.finish(timeout=FINISH_TIMEOUT, quiet=True)
    took = time.monotonic() - t0
    stored = nbtrack.Api(second.url, second.token).run(run.path)
    steps = [r["_step"] for r in stored.history()]
    record_figure("local_server_restart", rows=3 * PER_PHASE, stored=len(steps),
                  duplicates=len(steps) - len(set(steps)), finish_s=round(took, 2),
                  new_port=second.url != first.url)
    assert run.state == "finished", run.sync_command
    assert took < 20, f"finish took {took:.1f}s"
    assert steps == list(range(3 * PER_PHASE))
    assert stored.state == "finished"

"""How a process ends decides how its open run is stored (sdk/exitcode.py): the at-exit
finish runs however Python ends, so a run cut off must not be stored "finished", exit 0.

W&B's rule for scripts: 1 after an uncaught exception, 255 after KeyboardInterrupt. In a
kernel: 255 when it is shut down or restarted while a cell runs (the restart interrupts the
cell first, then runs the at-exit finish)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import nbtrack

from helpers.txlogs import wait_rows_logged
from helpers.wait import wait_until

SCRIPT = textwrap.dedent("""
    import json, sys
    import nbtrack
    run = nbtrack.init(project="exits", mode="local")
    print(json.dumps({"path": run.path}), flush=True)
    for i in range(25):
        run.log({"i": i})
    end = sys.argv[1]
    if end == "error":
        raise RuntimeError("training diverged")
    if end == "interrupt":
        raise KeyboardInterrupt
""")


def _stored(path: str) -> dict[str, Any]:
    run = nbtrack.Api().run(path)
    return {"state": run.state, "exit_code": run.data.get("exit_code"),
            "steps": [r["_step"] for r in run.history()]}


@pytest.mark.parametrize("end, state, code", [("normal", "finished", 0),
                                              ("error", "failed", 1),
                                              ("interrupt", "failed", 255)])
def test_a_script_ends_its_run_with_its_exit_code(local_home: Path, end: str, state: str,
                                                  code: int) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, end], capture_output=True, text=True,
                          env=dict(os.environ, NBTRACK_DIR=str(local_home)), timeout=120)
    assert (done.returncode == 0) == (end == "normal"), done.stderr
    path = json.loads(done.stdout.splitlines()[0])["path"]
    assert _stored(path) == {"state": state, "exit_code": code, "steps": list(range(25))}


def test_a_kernel_restarted_mid_cell_is_not_stored_finished(local_home: Path) -> None:
    """JupyterLab's Restart asks the kernel to shut down (it interrupts the running cell);
    the run logged so far is kept, marked failed with 255, not "finished" / 0."""
    import jupyter_client

    out: list[str] = []
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env=dict(os.environ, NBTRACK_DIR=str(local_home)))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(
            "import nbtrack\nrun = nbtrack.init(project='exits', mode='local')\n"
            "print(run.path, run.log_path)", timeout=60,
            output_hook=lambda m: out.append(m["content"].get("text", "")))
        assert reply["content"]["status"] == "ok"
        path, log_path = "".join(out).split()
        kc.execute("import time\nfor i in range(10**9):\n    run.log({'i': i}); time.sleep(1e-4)\n")
        wait_rows_logged(log_path, 500, timeout=60)
        km.restart_kernel(now=False)  # graceful: shutdown_request first
        kc.wait_for_ready(timeout=60)
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    # the old kernel's at-exit finish may still be posting
    stored = wait_until(lambda: (s := _stored(path))["state"] != "running" and s, timeout=30)
    assert stored["state"] == "failed" and stored["exit_code"] == 255, stored
    assert len(stored["steps"]) >= 500
    assert stored["steps"] == list(range(len(stored["steps"])))


"""What a kernel's cells show of nbtrack's background work (sdk/kernellogs.py): the finish
outcome and the sync command, not the pipeline's retry and refusal lines, which go to the
run's private ``debug.log``. A real kernel (nbclient), a server that refuses connections."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


def test_background_lines_stay_out_of_the_cell(nbtrack_dir: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import nbtrack\n"
        f"run = nbtrack.init(project='cells', mode='online', base_url='{url}', api_key='k' * 40)\n"
        "for i in range(500):\n    run.log({'a': i})\n"
        "run.finish(timeout=3)\n"
        "print('DIR', run.dir)\n")]
    env = {**os.environ, "NBTRACK_DIR": str(nbtrack_dir), "NBTRACK_INIT_TIMEOUT": "2"}
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel(env=env):
        client.execute_cell(nb.cells[0], 0)
    texts = {o.get("name"): o.get("text", "") for o in nb.cells[0].outputs
             if o.get("output_type") == "stream"}
    err = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stderr")
    run_dir = Path(texts["stdout"].split("DIR", 1)[1].strip())
    # the user's own lines: init's wait and finish's outcome with the sync command
    assert f"the server at {url} did not answer within 2s" in err
    assert "nbtrack sync " in err
    # the pipeline's lines are not in the cell, they are in the run's debug.log
    assert "ConnectionError talking to" not in err and "not uploaded" not in err, err
    debug = run_dir / "debug.log"
    assert "ConnectionError talking to" in debug.read_text()
    assert stat.S_IMODE(debug.stat().st_mode) == 0o600

"""Ctrl-C while ``finish()`` waits: the run detaches with the sync hint, a second
``finish()`` says so again instead of returning silently, and ``nbtrack sync`` completes
the run with every row once. A real SIGINT to a real child process whose final
``file_stream`` post the proxy holds (so finish is waiting when the signal lands)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from crashkit import cli

import nbtrack

from helpers.faults import ChaosProxy
from helpers.reliability import record_figure

ROWS = 5_000

CHILD = textwrap.dedent("""
    import json, sys
    import nbtrack

    run = nbtrack.init(project="ctrlc", config={"lr": 0.5})
    for i in range(int(sys.argv[1])):
        run.log({"i": i})
    print(json.dumps({"log": str(run.log_path)}), flush=True)
    try:
        run.finish(timeout=120)
        print(json.dumps({"not_interrupted": run.state}), flush=True)
    except KeyboardInterrupt:
        print(json.dumps({"interrupted": run.state, "sync": run.sync_command}), flush=True)
    print("SECOND", file=sys.stderr, flush=True)
    run.finish()
    print(json.dumps({"second": run.state, "sync": run.sync_command}), flush=True)
""")


def test_ctrl_c_during_finish_leaves_a_syncable_detached_run(nbtrack_dir: Path,
                                                            live_server: Any) -> None:
    held = threading.Event()

    def on_request(method: str, path: str, body: bytes) -> str | None:
        if "file_stream" in path and b'"complete": true' in body.replace(b'":true', b'": true'):
            held.set()
            return "hold"
        return None

    proxy = ChaosProxy(live_server.url, on_request=on_request)
    env = dict(os.environ, NBTRACK_DIR=str(nbtrack_dir), NBTRACK_BASE_URL=proxy.url,
               NBTRACK_API_KEY=live_server.token)
    try:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(ROWS)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert held.wait(60), "finish never sent its final post"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proxy.release()
        proxy.close()
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    log = Path(lines[0]["log"])
    after = {k: v for line in lines[1:] for k, v in line.items()}
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    assert after.get("interrupted") == "detached", (after, err)
    assert after["sync"] == f"nbtrack sync {log}"
    first, second = err.split("SECOND", 1)
    assert f"nbtrack sync {log}" in first and "interrupted" in first, first
    assert f"nbtrack sync {log}" in second, second  # the second finish() says it again
    assert after["second"] == "detached"

    sync = cli(nbtrack_dir, "sync", str(log), url=live_server.url, token=live_server.token)
    assert sync.returncode == 0, sync.stderr
    run = nbtrack.Api(live_server.url, live_server.token).runs(project="ctrlc")[0]
    steps = [r["_step"] for r in run.history()]
    record_figure("finish_interrupt", rows=ROWS, stored=len(steps),
                  duplicates=len(steps) - len(set(steps)), state=run.state)
    assert steps == list(range(ROWS))
    assert run.state == "finished"

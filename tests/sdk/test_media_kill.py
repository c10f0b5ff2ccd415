"""SIGKILL a process logging images mid-loop, then ``nbtrack sync``: every image a synced
row references is on the server with its pixels, and the scalars of every row the log or
the ring kept are there, also of rows whose image was still being encoded (those lose
only the image: ``docs/media.md``, "What a kill does")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nbtrack

from helpers.server import RunningServer, start_server
from helpers.txlogs import wait_rows_logged
from helpers.wait import wait_until

pytest.importorskip("PIL", reason="the media extra (Pillow) is part of the test extra")

CHILD = """
import sys, time, numpy as np, nbtrack
run = nbtrack.init(project="media-kill", mode="offline", console="off")
print(run.log_path, flush=True)
i = 0
while True:
    run.log({"i": i, "img": nbtrack.Image(np.full((48, 48, 3), i % 256, np.uint8))})
    i += 1
    time.sleep(0.001)  # a training step: the worker mostly keeps up, as in a real loop
"""


def test_kill_mid_encode_then_sync(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env["NBTRACK_DIR"] = str(home)
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                             env=env)
    try:
        assert child.stdout is not None
        log = Path(child.stdout.readline().strip())
        wait_rows_logged(log, 300, timeout=60)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    server: RunningServer = start_server(tmp_path / "server")
    try:
        done = subprocess.run([sys.executable, "-m", "nbtrack", "sync", str(log)],
                              capture_output=True, text=True, timeout=120,
                              env=dict(env, NBTRACK_BASE_URL=server.url,
                                       NBTRACK_API_KEY=server.token))
        assert done.returncode == 0, done.stdout + done.stderr
        api = nbtrack.Api(server.url, server.token)
        run_id = log.stem.removeprefix("run-")
        run = wait_until(lambda: next((r for r in api.runs("media-kill") if r.id == run_id),
                                      None), 30, message="the synced run")
        rows = run.history()
        print(f"{len(rows)} rows, {sum('img' in r for r in rows)} with their image")
        assert len(rows) >= 300
        assert [r["i"] for r in rows] == list(range(len(rows)))  # every kept row, in order
        with_image = [r for r in rows if "img" in r]
        assert len(with_image) >= 250  # the first 300 were in the log before the kill
        for row in with_image[:: max(len(with_image) // 40, 1)] + with_image[-3:]:
            pixels = row["img"].to_numpy()  # the file is there, and it is this row's image
            assert pixels.shape == (48, 48, 3) and (pixels == row["i"] % 256).all()
        names = {f["name"] for f in run.files()}
        assert {r["img"]["path"] for r in with_image} <= names
    finally:
        server.stop()

"""The durability promise (docs/reliability.md, "What survives"), tested as stated.

- A process kill: everything ``log()`` accepted (tests/reliability/test_kill_anywhere.py).
- A machine crash (power loss, kernel panic): what the page cache held is gone; what
  survives is the transaction log up to its last fsync, taken every
  ``NBTRACK_FSYNC_INTERVAL`` seconds (5 by default) and at finish. Simulated here: a child
  is SIGKILLed, then its log is cut at the last fsync point (the ring's header says
  where) and the ring's boot id is changed, as after the restart (its pages are not
  trusted then: they may mix laps).
- A full disk: ``log()`` warns once and keeps logging into the write-ahead ring, raises
  only when the ring is full too, and ``finish`` says what is where; after space is freed,
  ``nbtrack sync`` stores every accepted row. A real 24 MiB tmpfs, mounted for the test.
"""

from __future__ import annotations

import mmap
import os
import shutil
import signal
import struct
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from crashkit import cli, logs_under

import nbtrack
from nbtrack.txlog import LogReader
from nbtrack.txlog.ring import read_ring, ring_path_for

from helpers.reliability import record_figure
from helpers.wait import wait_until

FSYNC_INTERVAL = 1.0

CHILD = textwrap.dedent("""
    import mmap, os, struct, time
    import nbtrack
    fd = os.open(os.environ["ACCEPTED"], os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, 8)
    acc = mmap.mmap(fd, 8)
    run = nbtrack.init(project="durable", mode="online")
    i = 0
    while True:
        run.log({"i": i})
        i += 1
        acc[0:8] = struct.pack("<Q", i)
        if i % 100 == 0:
            time.sleep(0.001)  # why: a paced loop (~60k rows/s), a realistic fsync load
""")


def _accepted(path: Path) -> int:
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 8, access=mmap.ACCESS_READ) as m:
            return int(struct.unpack("<Q", m[:8])[0])
    except (FileNotFoundError, ValueError):
        return 0


def test_machine_crash_keeps_the_log_up_to_its_last_fsync(nbtrack_dir: Path,
                                                          server_factory: Any,
                                                          tmp_path: Path) -> None:
    server = server_factory()
    counter = tmp_path / "accepted"
    env = dict(os.environ, NBTRACK_DIR=str(nbtrack_dir), NBTRACK_BASE_URL=server.url,
               NBTRACK_API_KEY=server.token, ACCEPTED=str(counter),
               NBTRACK_FSYNC_INTERVAL=str(FSYNC_INTERVAL))
    proc = subprocess.Popen([sys.executable, "-c", CHILD], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int]] = []
    try:
        wait_until(lambda: _accepted(counter) > 0, 60, message="the child never logged")
        t_end = time.monotonic() + 3.5
        while time.monotonic() < t_end:
            samples.append((time.monotonic(), _accepted(counter)))
            time.sleep(0.02)  # why: sampling the child's count over time is the test
        killed_at = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    (log,) = logs_under(nbtrack_dir)
    report, _ = read_ring(ring_path_for(log))
    assert report.fsync_offset > 0, "no fsync point in 3.5 s of logging"
    # the machine crash: nothing after the last fsync reached the disk; the machine restarts
    with open(log, "r+b") as f:
        f.truncate(report.fsync_offset)
    with open(ring_path_for(log), "r+b") as f:
        f.seek(52)  # the boot id (docs/contracts.md)
        f.write(bytes(16 * [0xAB]))
    reader = LogReader(log)
    for _ in reader:
        pass
    assert reader.report.ok, reader.report.summary()  # an fsync point is a record boundary
    sync = cli(nbtrack_dir, "sync", str(log), url=server.url, token=server.token)
    assert sync.returncode == 0, sync.stderr
    assert "written before the machine last started" in sync.stdout, sync.stdout
    (run,) = nbtrack.Api(server.url, server.token).runs(project="durable")
    values = [r["i"] for r in run.history()]
    assert values == list(range(len(values)))  # a prefix, nothing invented or doubled
    # the bound: everything accepted one fsync interval (plus 1 s of slack) before the crash
    bound = max(n for t, n in samples if t <= killed_at - FSYNC_INTERVAL - 1.0)
    assert len(values) >= bound, (len(values), bound)
    record_figure("machine_crash", fsync_interval=FSYNC_INTERVAL, accepted=samples[-1][1],
                  kept=len(values), bound=bound)


# ------------------------------------------------------------------ a full disk

@pytest.fixture
def small_disk(tmp_path: Path) -> Any:
    """A 24 MiB tmpfs: room for the 16 MiB ring and a few MiB of log, then ENOSPC."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root (CI runs as root on its machine)")
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(mnt)],
                   check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_warns_raises_when_full_and_sync_stores_every_accepted_row(
        small_disk: Path, server_factory: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    server = server_factory()
    monkeypatch.setenv("NBTRACK_DIR", str(small_disk))
    run = nbtrack.init(project="disk", mode="online", base_url=server.url,
                       api_key=server.token)
    accepted = 0
    row = {"text": "y" * 400}
    with pytest.warns(UserWarning, match="cannot write the transaction log") as caught, \
            pytest.raises(OSError, match=r"write-ahead ring .* is full"):
        for i in range(1_000_000):
            run.log({"i": i, **row})
            accepted += 1
    warned = [w for w in caught if "cannot write the transaction log" in str(w.message)]
    assert len(warned) == 1  # told once, not per call
    t0 = time.monotonic()
    run.finish(timeout=10)
    finish_s = time.monotonic() - t0
    err = capsys.readouterr().err
    assert "could not be written completely" in err and "nbtrack sync" in err, err
    assert "Nothing is lost: the run's log keeps" not in err
    log = run.log_path
    assert ring_path_for(log).exists()
    # the user frees space (here: the log moves to a roomy disk with its ring), then syncs
    roomy = small_disk.parent / "moved"
    shutil.copytree(log.parent, roomy)
    moved = roomy / log.name
    sync = cli(small_disk, "sync", str(moved), url=server.url, token=server.token)
    assert sync.returncode == 0, sync.stderr
    stored = [r["i"] for r in nbtrack.Api(server.url, server.token).run(run.path).history()]
    assert stored == list(range(accepted))
    record_figure("disk_full", accepted=accepted, stored=len(stored), finish_s=round(finish_s, 1),
                  warned_once=len(warned) == 1)

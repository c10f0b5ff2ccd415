"""SIGKILL a logging process at random points, then ``nbtrack sync``: nothing accepted is lost.

"Accepted" is counted by the child itself, outside nbtrack: after each ``log()`` returns
it writes the number of calls that returned into a small memory-mapped file of its own,
which the kernel keeps when the process is killed. So after sync the server must hold
rows ``i = 0 .. n-1`` exactly once, where n is that count (or n + 1: killed after a
``log()`` returned but before the child wrote the count), and every file whose
``run.save`` returned, byte for byte.

Kill points (random, seeded; figures appended to ``$NBTRACK_FIGURES``): an unpaced
loop, a paced loop, during ``finish``, and while the server receives a 64 MB upload.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import random
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from crashkit import cli, logs_under

import nbtrack
from nbtrack.wire import urls

from helpers.faults import ChaosProxy
from helpers.reliability import pick, record_figure
from helpers.wait import wait_until

SEED = int(os.environ.get("NBTRACK_KILL_SEED", "1517"))
# (kind, kills): 22 kills in the short suite, 60 in the long one
PLAN = pick([("fast", 8), ("paced", 4), ("finish", 6), ("upload", 4)],
            [("fast", 20), ("paced", 12), ("finish", 16), ("upload", 12)])

CHILD = textwrap.dedent("""
    import json, mmap, os, struct, sys, time
    import nbtrack

    fd = os.open(os.environ["ACCEPTED"], os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, 32)
    acc = mmap.mmap(fd, 32)
    kind = os.environ["KIND"]
    run = nbtrack.init(project="kill", mode="online", config={"lr": 0.5})
    saved = os.path.join(os.environ["WORK"], "weights.bin" if kind == "upload" else "notes.txt")
    with open(saved, "wb") as f:
        f.write(os.urandom(64 << 20 if kind == "upload" else 10_000))
    run.save(saved)
    acc[16:24] = struct.pack("<Q", 1)  # save() returned
    print(json.dumps({"path": run.path, "log": str(run.log_path)}), flush=True)
    steps = int(os.environ.get("STEPS", "0"))
    i = 0
    while steps == 0 or i < steps:
        run.log({"i": i, "x": i * 0.5})
        i += 1
        acc[0:8] = struct.pack("<Q", i)
        if kind == "paced" and i % 100 == 0:
            time.sleep(0.002)  # why: a paced loop is the case under test (~50k rows/s)
    acc[8:16] = struct.pack("<Q", 1)  # finish begins
    run.finish(timeout=60, quiet=True)
    acc[8:16] = struct.pack("<Q", 2)
""")


class Counter:
    """The child's own count of accepted calls, read from its memory-mapped file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _word(self, at: int) -> int:
        try:
            with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 32,
                                                       access=mmap.ACCESS_READ) as m:
                return int(struct.unpack_from("<Q", m, at)[0])
        except (FileNotFoundError, ValueError):
            return 0

    @property
    def accepted(self) -> int:
        return self._word(0)

    @property
    def finishing(self) -> int:
        return self._word(8)

    @property
    def saved(self) -> bool:
        return self._word(16) == 1


def _start(home: Path, url: str, token: str, work: Path, kind: str,
           **env: str) -> tuple[subprocess.Popen[str], Counter]:
    work.mkdir(parents=True, exist_ok=True)
    counter = Counter(work / "accepted")
    full = dict(os.environ, NBTRACK_DIR=str(home), NBTRACK_BASE_URL=url,
                NBTRACK_API_KEY=token, ACCEPTED=str(counter.path), WORK=str(work),
                KIND=kind, **env)
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full)
    return proc, counter


def _download(api: nbtrack.Api, run_path: str, name: str) -> bytes:
    parts = "/".join(quote(p, safe="") for p in run_path.split("/"))
    resp = api.http.request("GET", f"{urls.API}runs/{parts}/files/{quote(name)}",
                            what="download")
    return bytes(resp.content)


def _check(home: Path, server: Any, work: Path, counter: Counter, kind: str,
           point: str) -> dict[str, Any]:
    logs = logs_under(home)
    assert len(logs) == 1, logs
    t0 = time.monotonic()
    sync = cli(home, "sync", str(logs[0]), url=server.url, token=server.token)
    took = time.monotonic() - t0
    assert sync.returncode == 0, sync.stderr
    assert "Traceback" not in sync.stderr
    accepted = counter.accepted
    api = nbtrack.Api(server.url, server.token)
    runs = api.runs(project="kill")
    assert len(runs) == 1, runs
    run = runs[0]
    stored = run.history()
    values = [r["i"] for r in stored]
    steps = [r["_step"] for r in stored]
    assert values == list(range(len(values))), "a row is missing or stored twice"
    assert steps == values
    assert len(values) in (accepted, accepted + 1), (len(values), accepted)
    assert run.config.get("lr") == 0.5
    files = {f["name"]: f for f in run.files()}
    if counter.saved:
        name = "weights.bin" if kind == "upload" else "notes.txt"
        expected = (work / name).read_bytes()
        assert name in files, f"{name} was saved but not uploaded: {sorted(files)}"
        got = _download(api, run.path, name)
        assert hashlib.sha256(got).digest() == hashlib.sha256(expected).digest()
    again = cli(home, "sync", str(logs[0]), url=server.url, token=server.token)
    assert again.returncode == 0, again.stderr
    assert len(api.run(run.path).history()) == len(values), "the second sync added rows"
    found = re.search(r"recovered (\d+) entries", sync.stdout)
    record_figure("kill_anywhere", kind=kind, point=point, accepted=accepted,
                  stored=len(values), lost=max(accepted - len(values), 0),
                  duplicates=len(steps) - len(set(steps)), state=run.state,
                  saved=counter.saved, sync_s=round(took, 2),
                  recovered_from_ring=int(found.group(1)) if found else 0)
    return {"accepted": accepted, "stored": len(values), "state": run.state}


def _cases() -> list[tuple[str, int]]:
    return [(kind, i) for kind, n in PLAN for i in range(n)]


@pytest.mark.parametrize(("kind", "index"), _cases(),
                         ids=[f"{k}-{i}" for k, i in _cases()])
def test_sigkill_then_sync_loses_nothing(nbtrack_dir: Path, server_factory: Any,
                                         tmp_path: Path, kind: str, index: int) -> None:
    rng = random.Random(f"{SEED}-{kind}-{index}")
    server = server_factory()
    work = tmp_path / "work"
    proxy: ChaosProxy | None = None
    url = server.url
    if kind == "upload":
        proc_box: list[subprocess.Popen[str]] = []

        def on_request(method: str, path: str, body: bytes) -> str | None:
            if method == "PUT" and "weights.bin" in path and proc_box:
                proc_box[0].send_signal(signal.SIGKILL)
                return "hold"
            return None

        proxy = ChaosProxy(server.url, on_request=on_request)
        url = proxy.url
    env = {"STEPS": str(rng.randrange(20_000, 80_000))} if kind == "finish" else {}
    proc, counter = _start(nbtrack_dir, url, server.token, work, kind, **env)
    try:
        if kind == "upload":
            proc_box.append(proc)
            assert proc.wait(120) == -signal.SIGKILL, "the upload never reached the server"
            point = f"upload PUT, {counter.accepted} rows"
        elif kind == "finish":
            wait_until(lambda: counter.finishing or proc.poll() is not None, 120,
                       message="the child never reached finish")
            delay = rng.uniform(0.0, 0.4)
            time.sleep(delay)  # why: the random kill point inside finish is the test
            assert proc.poll() is None, f"finish ended within {delay:.2f}s: no kill point"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            point = f"finish +{delay:.2f}s"
        else:
            target = rng.randrange(2_000, 150_000 if kind == "fast" else 40_000)
            wait_until(lambda: counter.accepted >= target or proc.poll() is not None, 120,
                       message="the child stopped logging")
            assert proc.poll() is None, proc.communicate()[1]
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            point = f"after {target}+ rows"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proxy is not None:
            proxy.close()
    assert proc.returncode == -signal.SIGKILL
    out = _check(nbtrack_dir, server, work, counter, kind, point)
    if kind != "finish":
        assert out["state"] == "crashed"

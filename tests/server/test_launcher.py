"""Finding or starting the local server from a kernel (nbtrack.client.localserver)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from nbtrack.client.localserver import ServerInfo, ensure_local_server, stop_local_server


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "nbtrack-home"
    d.mkdir()
    yield d
    stop_local_server(d)


def _viewer_ok(info: ServerInfo) -> bool:
    r = requests.get(f"{info.url}/api/v1/viewer", auth=("api", info.token), timeout=5)
    return r.status_code == 200


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_start_then_reuse(home: Path) -> None:
    t0 = time.monotonic()
    info = ensure_local_server(home)
    cold = time.monotonic() - t0
    assert info.url.startswith("http://127.0.0.1:") and len(info.token) == 40
    assert _viewer_ok(info)
    assert cold < 1.5, f"cold start took {cold:.2f}s"
    state = json.loads((home / "server" / "state.json").read_text())
    assert state["pid"] == info.pid
    times = []
    for _ in range(5):
        t0 = time.monotonic()
        again = ensure_local_server(home)
        times.append(time.monotonic() - t0)
        assert again == info
    assert sorted(times)[2] < 0.05, times
    assert stop_local_server(home) is True
    assert not (home / "server" / "state.json").exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{info.url}/healthz", timeout=2)


@pytest.mark.parametrize("stale", ["dead-pid", "live-pid-no-answer", "garbage"])
def test_stale_state_file_starts_a_new_server(home: Path, stale: str) -> None:
    (home / "server").mkdir()
    state_path = home / "server" / "state.json"
    if stale == "garbage":
        state_path.write_text("{not json")
    else:
        pid = _dead_pid() if stale == "dead-pid" else os.getpid()
        state_path.write_text(json.dumps({"pid": pid, "url": "http://127.0.0.1:9", "token": "t"}))
    info = ensure_local_server(home)
    assert info.pid not in (os.getpid(), 0) and info.token != "t"
    assert _viewer_ok(info)


def test_two_kernels_starting_at_once_share_one_server(home: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from nbtrack.client.localserver import ensure_local_server\n"
        "i = ensure_local_server(Path(sys.argv[1])); print(i.pid, i.url, flush=True)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=30)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1]
    log = (home / "server" / "server.log").read_text()
    assert log.count("listening on") == 1, log


def test_a_server_that_cannot_start_is_reported(tmp_path: Path) -> None:
    blocked = tmp_path / "home"
    blocked.mkdir()
    (blocked / "server").mkdir()
    (blocked / "server" / "nbtrack.db").mkdir()  # the database path is a directory
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="did not start") as err:
        ensure_local_server(blocked, timeout=5)
    assert "cannot start" in str(err.value)  # the log tail says why
    assert time.monotonic() - t0 < 4  # an exited server is noticed, not waited for

"""Stop requests: the server marks the run, the kernel polls, the next log() stops the run."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

import nbtrack
from nbtrack import RunStopRequested
from nbtrack.cli import main as cli


@pytest.fixture(autouse=True)
def _fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STOP_POLL_INTERVAL", "0.3")


def _log_until_stopped(run: nbtrack.Run, seconds: float = 15.0) -> int:
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        run.log({"i": i})
        i += 1
        time.sleep(0.01)
    raise AssertionError("the stop request was not noticed")


def test_stop_raises_and_finishes(online: Any, api: Any, live_server: Any,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    run = online(console="off")
    for i in range(10):
        run.log({"i": i})
    rc = cli.main(["stop", run.path, "--base-url", live_server.url,
                   "--api-key", live_server.token])
    assert rc == 0 and "stop requested" in capsys.readouterr().out
    assert api.run(run.path).stop_requested
    with pytest.raises(RunStopRequested, match="stop was requested"):
        _log_until_stopped(run)
    assert run.state == "finished"
    assert run.stop_requested
    assert api.run(run.path).state == "finished"
    with pytest.raises(RunStopRequested):
        run.log({"i": 0})


def test_on_stop_callback(online: Any, api: Any) -> None:
    run = online(console="off")
    called: list[str] = []
    run.on_stop(lambda r: called.append(r.state))
    run.log({"i": 0})
    api.run(run.path).stop()
    deadline = time.monotonic() + 15
    while run.state == "running" and time.monotonic() < deadline:
        run.log({"i": 1})
        time.sleep(0.01)
    assert called == ["running"]
    assert run.state == "finished"
    run.log({"i": 2})  # ignored: the user chose the callback
    assert api.run(run.path).state == "finished"


def test_stop_endpoint_needs_auth(online: Any, live_server: Any) -> None:
    run = online(console="off")
    url = f"{live_server.url}/api/v1/runs/{run.path}/stop"
    assert requests.post(url, timeout=10).status_code == 401
    r = requests.post(url, auth=("api", live_server.token), timeout=10)
    assert r.status_code == 200 and r.json() == {"stop_requested": True}
    missing = f"{live_server.url}/api/v1/runs/{run.entity}/{run.project}/nosuchrun/stop"
    assert requests.post(missing, auth=("api", live_server.token), timeout=10).status_code == 404

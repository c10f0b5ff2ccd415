"""Stop requests: the server marks the run, the kernel polls, the next log() stops the run."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

import nbtrack
from nbtrack import RunStopRequested
from nbtrack.cli import main as cli

from helpers.wait import wait_until


@pytest.fixture(autouse=True)
def _fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STOP_POLL_INTERVAL", "0.3")


def _wait_stop_seen(run: nbtrack.Run) -> None:
    """Until the kernel's poll has seen the stop request (``log()`` acts on it next)."""
    wait_until(lambda: run.stop_requested, timeout=15,
               message="the kernel never noticed the stop request")


def test_stop_raises_and_finishes(online: Any, api: Any, live_server: Any,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    run = online(console="off")
    for i in range(10):
        run.log({"i": i})
    rc = cli.main(["stop", run.path, "--base-url", live_server.url,
                   "--api-key", live_server.token])
    assert rc == 0 and "stop requested" in capsys.readouterr().out
    assert api.run(run.path).stop_requested
    _wait_stop_seen(run)
    assert run.state == "running"  # noticed, not acted on: that is the next log()'s job
    with pytest.raises(RunStopRequested, match="stop was requested"):
        run.log({"i": 10})
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
    _wait_stop_seen(run)
    assert called == []  # the callback runs in the logging thread, at the next log()
    run.log({"i": 1})
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


def test_the_file_stream_answer_alone_stops_the_run(online: Any, api: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """W&B's own stop signal (``stopped: true`` in a file_stream answer, what wandb-core
    reads) stops an nbtrack run too, with the RunStoppedStatus poll turned off."""
    monkeypatch.setenv("NBTRACK_STOP_POLL_INTERVAL", "0")
    run = online(console="off")
    run.log({"i": 0})
    api.run(run.path).stop()
    stopped = False
    for i in range(1, 300):  # rows keep the posts (and their answers) coming
        try:
            run.log({"i": i})
        except RunStopRequested:
            stopped = True
            break
        if run.stop_requested:
            break
        time.sleep(0.05)
    _wait_stop_seen(run)
    if not stopped:
        with pytest.raises(RunStopRequested):
            run.log({"i": -1})
    assert run.state == "finished" and api.run(run.path).state == "finished"

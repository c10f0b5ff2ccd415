"""Alerts: run.alert → notifyScriptableRunAlert → stored per run → Api / CLI / listener."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from nbtrack.cli import main as cli
from nbtrack.sdk.events import AlertRaised, RunEvent


def test_alerts_stored_rate_limited_and_listed(online: Any, api: Any, live_server: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = online(console="off")
    events: list[RunEvent] = []
    run.add_listener(events.append)
    assert run.alert("loss diverged", "loss is NaN at step 10", level="ERROR")
    assert not run.alert("loss diverged", "again", wait_duration=datetime.timedelta(minutes=5))
    assert run.alert("slow", "steps are slow", level="warning", wait_duration=300)
    assert not run.alert("slow", "still slow", wait_duration=300)
    with pytest.raises(ValueError, match="level"):
        run.alert("x", "y", level="LOUD")
    run.finish(quiet=True)
    alerts = api.run(run.path).alerts()
    assert [(a["title"], a["text"], a["level"]) for a in alerts] == [
        ("loss diverged", "loss is NaN at step 10", "ERROR"),
        ("slow", "steps are slow", "WARN"),
    ]
    assert all(a["time"] for a in alerts)
    assert [e.title for e in events if isinstance(e, AlertRaised)] == ["loss diverged", "slow"]
    capsys.readouterr()
    rc = cli.main(["alerts", run.path, "--base-url", live_server.url,
                   "--api-key", live_server.token])
    out = capsys.readouterr().out
    assert rc == 0 and "ERROR loss diverged: loss is NaN at step 10" in out
    assert "WARN  slow: steps are slow" in out


def test_alert_after_finish_is_refused(online: Any) -> None:
    run = online(console="off")
    run.finish(quiet=True)
    with pytest.raises(RuntimeError, match="finished"):
        run.alert("late", "too late")

"""The widget shows system metrics, alerts and stop requests of a real run."""

from __future__ import annotations

from typing import Any

import pytest

from nbtrack.notebook.ui import RunUpdater, system_view
from nbtrack.notebook.widget import RunWidget

from helpers.fakes import RecordingComm
from helpers.wait import wait_until


def test_system_alerts_and_stop_in_the_widget(online: Any, api: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STATS_INTERVAL", "0.2")
    monkeypatch.setenv("NBTRACK_STOP_POLL_INTERVAL", "0.3")
    run = online(console="off")
    w = RunWidget(run, start=False)
    w.comm = RecordingComm()
    w.updater = RunUpdater(run, w)
    w.updater.start()
    try:
        run.log({"loss": 1.0})
        wait_until(lambda: len((w.system.get("system.cpu") or {}).get("v", [])) >= 2, 15,
                   message=lambda: f"system trait: {w.system}")
        assert {"system.cpu", "system.memory", "system.proc.memory.rssMB"} <= set(w.system)
        run.alert("check", "look at the loss", level="WARN")
        wait_until(lambda: any("WARN alert: check: look at the loss" in m for m in w.messages),
                   15, message=lambda: f"messages: {w.messages}")
        api.run(run.path).stop()
        wait_until(lambda: any("stop requested" in m for m in w.messages), 15,
                   message=lambda: f"messages: {w.messages}")
    finally:
        w.updater.stop()
        w.updater.join(5)


def test_system_view_picks_a_few_keys() -> None:
    metrics = {k: {"t": [0.0, 1.0], "v": [1.0, 2.0]} for k in (
        "system.cpu", "system.disk.in", "system.gpu.0.gpu", "system.gpu.0.temp")}
    view = system_view(metrics)
    assert set(view) == {"system.cpu", "system.gpu.0.gpu"}
    assert view["system.cpu"] == {"t": [0.0, 1.0], "v": [1.0, 2.0], "last": 2.0}

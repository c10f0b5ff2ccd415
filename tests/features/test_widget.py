"""The widget shows system metrics, alerts and stop requests of a real run."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nbtrack.notebook.ui import RunUpdater, system_view
from nbtrack.notebook.widget import RunWidget

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebook"))
from fakes import RecordingComm


def _wait(cond: Any, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


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
        _wait(lambda: len((w.system.get("system.cpu") or {}).get("v", [])) >= 2)
        assert {"system.cpu", "system.memory", "system.proc.memory.rssMB"} <= set(w.system)
        run.alert("check", "look at the loss", level="WARN")
        _wait(lambda: any("WARN alert: check: look at the loss" in m for m in w.messages))
        api.run(run.path).stop()
        _wait(lambda: any("stop requested" in m for m in w.messages))
    finally:
        w.updater.stop()
        w.updater.join(5)


def test_system_view_picks_a_few_keys() -> None:
    metrics = {k: {"t": [0.0, 1.0], "v": [1.0, 2.0]} for k in (
        "system.cpu", "system.disk.in", "system.gpu.0.gpu", "system.gpu.0.temp")}
    view = system_view(metrics)
    assert set(view) == {"system.cpu", "system.gpu.0.gpu"}
    assert view["system.cpu"] == {"t": [0.0, 1.0], "v": [1.0, 2.0], "last": 2.0}

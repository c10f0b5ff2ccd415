"""System metrics: the nbtrack-system sampler's rows reach the server as wandb-events lines."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import pytest

from nbtrack.capture.system import SystemSampler

from helpers.wait import wait_until


def _cpu_samples(run: Any) -> int:
    return len((run.system_metrics().get("system.cpu") or {}).get("v", []))


def _wait_samples(run: Any, n: int) -> None:
    """Until the run's sampler has taken ``n`` samples (each one a row for the server)."""
    wait_until(lambda: _cpu_samples(run) >= n, timeout=10,
               message=lambda: f"{_cpu_samples(run)} of {n} system samples")


def test_rows_reach_the_server(online: Any, api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STATS_INTERVAL", "0.2")
    run = online()
    assert any(t.name == "nbtrack-system" for t in threading.enumerate())
    for i in range(5):
        run.log({"i": i})
    _wait_samples(run, 3)
    live = run.system_metrics()
    assert "system.cpu" in live and len(live["system.cpu"]["v"]) >= 3
    run.finish(quiet=True)
    assert not any(t.name == "nbtrack-system" for t in threading.enumerate())
    rows = api.run(run.path).system_metrics()
    assert len(rows) >= 3
    for key in ("_runtime", "_timestamp", "system.cpu", "system.memory", "system.disk.in",
                "system.disk.out", "system.network.sent", "system.network.recv",
                "system.proc.memory.rssMB", "system.proc.cpu.percent"):
        assert key in rows[-1], key
    runtimes = [r["_runtime"] for r in rows]
    assert runtimes == sorted(runtimes) and runtimes[0] < 2.0
    assert rows[-1]["system.proc.memory.rssMB"] > 10


def test_off(online: Any, api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STATS_INTERVAL", "off")
    run = online()
    assert not any(t.name == "nbtrack-system" for t in threading.enumerate())
    run.finish(quiet=True)
    assert api.run(run.path).system_metrics() == []


def test_sample_cost() -> None:
    s = SystemSampler(lambda row: None, interval=3600)
    s.start()
    try:
        t0 = time.perf_counter()
        for _ in range(50):
            s.sample()
        per = (time.perf_counter() - t0) / 50
    finally:
        s.stop()
    assert per < 0.02, per  # a few hundred µs here; generous for slow CI machines


def test_gpu_keys_with_a_fake_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    """GPU rows use W&B's names when pynvml imports (here a stand-in without a GPU)."""
    import types

    fake = types.ModuleType("pynvml")
    fake.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    fake.nvmlInit = lambda: None  # type: ignore[attr-defined]
    fake.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    fake.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    fake.nvmlDeviceGetUtilizationRates = (  # type: ignore[attr-defined]
        lambda h: types.SimpleNamespace(gpu=50 + h, memory=10))
    fake.nvmlDeviceGetMemoryInfo = (  # type: ignore[attr-defined]
        lambda h: types.SimpleNamespace(used=2 << 30, total=8 << 30))
    fake.nvmlDeviceGetTemperature = lambda h, kind: 61  # type: ignore[attr-defined]
    fake.nvmlDeviceGetPowerUsage = lambda h: 150_000  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    rows: list[str] = []
    s = SystemSampler(rows.append, interval=0.05)
    s.start()
    try:
        wait_until(lambda: rows, timeout=5, message="the sampler produced no row")
    finally:
        s.stop()
    row = json.loads(rows[-1])
    assert row["system.gpu.0.gpu"] == 50.0 and row["system.gpu.1.gpu"] == 51.0
    assert row["system.gpu.0.memoryAllocated"] == 25.0
    assert row["system.gpu.1.temp"] == 61.0 and row["system.gpu.0.powerWatts"] == 150.0


def test_resumed_run_appends_and_continues_runtime(online: Any, api: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_STATS_INTERVAL", "0.2")
    run = online(id="sysres", console="off")
    for i in range(3):
        run.log({"i": i})
    _wait_samples(run, 3)
    run.finish(quiet=True)
    first = api.run(run.path).system_metrics()
    again = online(id="sysres", resume="allow", console="off")
    _wait_samples(again, 2)
    again.finish(quiet=True)
    rows = api.run(run.path).system_metrics()
    assert len(rows) > len(first) and rows[: len(first)] == first
    assert rows[len(first)]["_runtime"] >= first[-1]["_runtime"] - 0.5

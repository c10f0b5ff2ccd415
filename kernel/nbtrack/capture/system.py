"""System metrics: a sampler thread (``nbtrack-system``) that records the process and machine.

Every ``interval`` seconds (default 10; the SDK reads ``NBTRACK_STATS_INTERVAL``) one row with W&B's
key names is published as a ``StatsRecord`` (→ ``wandb-events.jsonl``): CPU, memory,
disk and network I/O of the machine and of this process (psutil), and per-GPU
utilisation / memory / temperature / power when NVIDIA's management library
(``pynvml``) imports. Rows carry ``_runtime`` and ``_timestamp`` like history rows.

The sampler keeps its last ``keep`` rows for the widget. It is stopped when
``finish`` begins, so its last row is published before the FLUSH_STATS state.
One sample costs a few hundred µs (see ``docs/system.md``).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from nbtrack.pipeline.stagethread import StageThread

log = logging.getLogger("nbtrack.capture.system")

DEFAULT_INTERVAL = 10.0
_MB = 1024 * 1024

Publish = Callable[[str], None]  # one row as JSON


class _Gpu:
    """pynvml, if importable and a driver answers; otherwise nothing."""

    def __init__(self) -> None:
        self.nv: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                            for i in range(pynvml.nvmlDeviceGetCount())]
            self.nv = pynvml
        except Exception:
            self.nv = None

    def sample(self, row: dict[str, Any]) -> None:
        nv = self.nv
        if nv is None:
            return
        for i, h in enumerate(self.handles):
            p = f"system.gpu.{i}."
            try:
                util = nv.nvmlDeviceGetUtilizationRates(h)
                mem = nv.nvmlDeviceGetMemoryInfo(h)
                row[p + "gpu"] = float(util.gpu)
                row[p + "memory"] = float(util.memory)
                row[p + "memoryAllocated"] = 100.0 * mem.used / mem.total if mem.total else 0.0
                row[p + "memoryAllocatedBytes"] = int(mem.used)
                row[p + "temp"] = float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
                row[p + "powerWatts"] = nv.nvmlDeviceGetPowerUsage(h) / 1000.0
            except Exception:
                continue

    def close(self) -> None:
        if self.nv is not None:
            with contextlib.suppress(Exception):
                self.nv.nvmlShutdown()


class SystemSampler:
    """The ``nbtrack-system`` thread; ``start`` / ``stop`` are safe to call twice."""

    name = "system"

    def __init__(self, publish: Publish, *, interval: float = DEFAULT_INTERVAL,
                 start_time: float | None = None, runtime_offset: float = 0.0,
                 keep: int = 360) -> None:
        import psutil

        self._psutil = psutil
        self._publish = publish
        self.interval = interval
        self.start_time = time.time() if start_time is None else start_time
        self.runtime_offset = runtime_offset
        self.recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self.samples = 0
        self.sample_seconds = 0.0  # time spent sampling, for the cost figure
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._thread = StageThread(self._loop, "nbtrack-system")
        self._disk0 = self._net0 = None
        self._gpu: _Gpu | None = None

    def start(self) -> None:
        if self._thread.started or self.interval <= 0:
            return
        ps = self._psutil
        self._proc.cpu_percent(None)  # the first call primes the counters
        ps.cpu_percent(None)
        self._disk0 = _safe(ps.disk_io_counters)
        self._net0 = _safe(ps.net_io_counters)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Take one last sample (so short runs have one) and end the thread."""
        if not self._thread.started or self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout)
        if self.samples == 0:
            self._sample_and_publish()
        if self._gpu is not None:
            self._gpu.close()

    def _loop(self) -> None:
        self._gpu = _Gpu()
        while not self._stop.wait(self.interval):
            self._sample_and_publish()

    def _sample_and_publish(self) -> None:
        try:
            row = self.sample()
            self.recent.append(row)
            self._publish(json.dumps(row))
        except Exception:
            log.debug("system sample failed", exc_info=True)

    def sample(self) -> dict[str, Any]:
        """One row of W&B-named system metrics."""
        t0 = time.perf_counter()
        ps = self._psutil
        now = time.time()
        row: dict[str, Any] = {"_runtime": round(now - self.start_time + self.runtime_offset, 3),
                               "_timestamp": now}
        row["system.cpu"] = ps.cpu_percent(None)
        vm = ps.virtual_memory()
        row["system.memory"] = vm.percent
        row["system.proc.memory.availableMB"] = vm.available / _MB
        with self._proc.oneshot():
            mi = self._proc.memory_info()
            row["system.proc.memory.rssMB"] = mi.rss / _MB
            row["system.proc.memory.percent"] = 100.0 * mi.rss / vm.total if vm.total else 0.0
            row["system.proc.cpu.percent"] = self._proc.cpu_percent(None)
            row["system.proc.cpu.threads"] = self._proc.num_threads()
        du = _safe(ps.disk_usage, "/")
        if du is not None:
            row["system.disk"] = du.percent
        disk = _safe(ps.disk_io_counters)
        if disk is not None and self._disk0 is not None:
            row["system.disk.in"] = (disk.read_bytes - self._disk0.read_bytes) / _MB
            row["system.disk.out"] = (disk.write_bytes - self._disk0.write_bytes) / _MB
        net = _safe(ps.net_io_counters)
        if net is not None and self._net0 is not None:
            row["system.network.sent"] = net.bytes_sent - self._net0.bytes_sent
            row["system.network.recv"] = net.bytes_recv - self._net0.bytes_recv
        if self._gpu is not None:
            self._gpu.sample(row)
        self.samples += 1
        self.sample_seconds += time.perf_counter() - t0
        return row

    def recent_series(self) -> dict[str, dict[str, list[float]]]:
        """The kept rows as ``{key: {"t": [runtime...], "v": [value...]}}`` for the widget."""
        out: dict[str, dict[str, list[float]]] = {}
        for row in list(self.recent):
            t = row["_runtime"]
            for k, v in row.items():
                if k.startswith("_") or not isinstance(v, (int, float)):
                    continue
                s = out.setdefault(k, {"t": [], "v": []})
                s["t"].append(t)
                s["v"].append(float(v))
        return out


def _safe(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:
        return None

"""A stand-in ``Run`` for unit tests of the UI thread and widget logic only.

Why: the widget's batching can be tested without the pipeline. It is a
``nbtrack.sdk.view.RunView`` (what the notebook layer reads from a run) with a tiny
min/max reservoir behind ``sampled_history``. Magic tests use the real ``nbtrack.init``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack.sdk.events import Finished, FinishProgress, Listener, RunEvent, StateChanged


class _Reservoir:
    """Bounded per-key points: keeps every ``stride``-th point plus the last."""

    def __init__(self, max_points: int = 256) -> None:
        self.max_points = max_points
        self.stride = 1
        self.steps: list[int] = []
        self.values: list[float] = []
        self.count = 0
        self.min = math.inf
        self.max = -math.inf
        self.last = math.nan

    def add(self, step: int, value: float) -> None:
        self.count += 1
        self.last = value
        if not math.isnan(value):
            self.min = min(self.min, value)
            self.max = max(self.max, value)
        if step % self.stride == 0:
            self.steps.append(step)
            self.values.append(value)
            if len(self.steps) > self.max_points:
                self.stride *= 2
                keep = [i for i, s in enumerate(self.steps) if s % self.stride == 0]
                self.steps = [self.steps[i] for i in keep]
                self.values = [self.values[i] for i in keep]

    def view(self) -> dict[str, Any]:
        steps, values = list(self.steps), list(self.values)
        return {"steps": steps, "values": values, "min": self.min, "max": self.max,
                "last": self.last, "count": self.count}


class FakeRun:
    """Run-like object with the live-view part of the contract."""

    def __init__(self, name: str = "fake-run", project: str = "tests", mode: str = "offline"
                 ) -> None:
        self.id = "fake0001"
        self.name = name
        self.project = project
        self.entity = ""
        self.url = ""
        self.mode = mode
        self.state = "running"
        self.start_time = time.time()
        self.summary: dict[str, Any] = {}
        self.sync_command: str | None = None
        self.exit_code: int | None = None
        self.log_path = Path("/nonexistent/run-fake0001.nbtrack")
        self.stop_requested = False
        self.step = 0
        self.history_calls = 0
        self.network = {"state": "ok", "status_code": 200, "retry_count": 0, "error": "",
                        "since": 0.0, "pending_bytes": 0}
        self._series: dict[str, _Reservoir] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def log(self, data: dict[str, Any]) -> None:
        with self._lock:
            for key, value in data.items():
                self._series.setdefault(key, _Reservoir()).add(self.step, float(value))
                self.summary[key] = value
            self.step += 1

    def sampled_history(self, keys: list[str] | None = None, timeout: float = 1.0
                        ) -> dict[str, Any] | None:
        self.history_calls += 1
        with self._lock:
            return {"last_step": max(0, self.step - 1), "rows": self.step,
                    "series": {k: r.view() for k, r in self._series.items()}}

    def network_status(self, timeout: float = 1.0) -> dict[str, Any] | None:
        return dict(self.network)

    def system_metrics(self) -> dict[str, Any]:
        return {}

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def emit(self, event: RunEvent) -> None:
        for fn in list(self._listeners):
            fn(event)

    def finish(self, exit_code: int = 0, timeout: float | None = None, quiet: bool = False
               ) -> None:
        self.state = "finishing"
        self.emit(StateChanged("finishing"))
        self.emit(FinishProgress(uploaded_bytes=10, total_bytes=10, uploaded_files=1,
                                 total_files=1, pending_lines=0, done=True))
        self.state = "finished"
        self.exit_code = exit_code
        self.emit(StateChanged("finished"))
        self.emit(Finished("finished", exit_code, dict(self.summary), None))


class RecordingComm:
    """Replaces a widget's comm: keeps every message and its JSON size."""

    def __init__(self, comm_id: str = "rec0") -> None:
        self.comm_id = comm_id
        self.kernel = object()
        self.messages: list[dict[str, Any]] = []
        self.bytes = 0
        self.times: list[float] = []
        self.closed = False

    def on_msg(self, callback: Callable[..., Any]) -> None:
        pass

    def send(self, data: Any = None, buffers: Any = None, **kwargs: Any) -> None:
        self.messages.append(data)
        self.times.append(time.monotonic())
        self.bytes += len(json.dumps(data, allow_nan=False))

    def close(self, *args: Any, **kwargs: Any) -> None:
        self.closed = True

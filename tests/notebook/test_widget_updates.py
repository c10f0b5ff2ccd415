"""The UI thread's batching: a million ``log`` calls give a bounded number of messages.

The widget's comm is replaced by a recorder, so every message the front end would get is
counted and measured (JSON plus binary buffers). Totals are printed (``pytest -s``) and
recorded in docs/notebook.md. Each update is at most two messages: the changed traits and
one binary patch of the series that moved (``notebook/series.py``).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nbtrack.notebook.ui import widget_state
from nbtrack.notebook.widget import RunWidget
from nbtrack.sdk.view import RunView
from nbtrack.wire.strictjson import finite

from helpers.fakes import FakeRun, RecordingComm
from helpers.wait import wait_until

N = 1_000_000


class BufferComm(RecordingComm):
    """Also counts (and keeps) the binary buffers of each message."""

    def __init__(self) -> None:
        super().__init__()
        self.buffers: list[list[bytes]] = []

    def send(self, data: Any = None, buffers: Any = None, **kwargs: Any) -> None:
        super().send(data, buffers, **kwargs)
        bufs = [bytes(b) for b in buffers or []]
        self.buffers.append(bufs)
        self.bytes += sum(len(b) for b in bufs)


def _attach(run: Any) -> tuple[RunWidget, BufferComm]:
    w = RunWidget(run, start=False)
    rec = BufferComm()
    w.comm = rec
    from nbtrack.notebook.ui import RunUpdater

    w.updater = RunUpdater(run, w)
    w.updater.start()
    return w, rec


def _is_patch(m: dict[str, Any]) -> bool:
    return m.get("method") == "custom" and m["content"].get("nbtrack") == "series"


def _check_rate(rec: RecordingComm, elapsed: float) -> None:
    """At most 4 updates a second, each one trait message and one patch, 0.2 s apart."""
    for kind in (True, False):
        times = [t for t, m in zip(rec.times, rec.messages, strict=True) if _is_patch(m) is kind]
        assert len(times) <= 4 * elapsed + 3, (kind, len(times), elapsed)
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(g >= 0.2 for g in gaps), min(gaps)


def _series_messages(rec: BufferComm) -> list[set[str]]:
    """The key names each series patch carried."""
    names: dict[int, str] = {}
    out = []
    for m, bufs in zip(rec.messages, rec.buffers, strict=True):
        if not _is_patch(m):
            continue
        names.update({i: n for i, n, _origin in m["content"]["reset"]})
        ints = memoryview(bufs[0]).cast("H")
        out.append({names[ints[k]] for k in range(0, len(ints), 4)})
    return out


def _polls_later(run: FakeRun, polls: int = 3) -> None:
    """Wait until the UI thread has finished ``polls`` more looks at ``run`` (it is in the
    one after them): whatever it had to send about the state before this call, it has sent."""
    target = run.history_calls + polls + 1
    wait_until(lambda: run.history_calls >= target, timeout=10,
               message=lambda: f"the UI thread polled {run.history_calls}/{target} times")


def _report(label: str, rec: RecordingComm, elapsed: float, w: RunWidget) -> None:
    print(f"\n{label}: {N} log() calls in {elapsed:.1f}s -> {len(rec.messages)} messages, "
          f"{rec.bytes} bytes ({rec.bytes / max(len(rec.messages), 1):.0f} B/message), "
          f"series patches={w.patches} rev={w.series.rev}")


def test_million_logs_fake_run() -> None:
    run = FakeRun()
    assert isinstance(run, RunView)  # the stand-in has every name the notebook layer reads
    w, rec = _attach(run)
    start = time.monotonic()
    for i in range(N):
        run.log({"loss": 1.0 / (i + 1), "acc": i / N})
    run.finish()
    assert w.updater.join(5)
    elapsed = time.monotonic() - start
    _report("stand-in run", rec, elapsed, w)
    _check_rate(rec, elapsed)
    assert w.state == "finished" and w.finish["done"] is True
    assert w.summary["loss"] == pytest.approx(1.0 / N)
    assert w.progress["step"] == N - 1
    w.close()


def test_million_logs_real_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbtrack

    monkeypatch.setenv("NBTRACK_DIR", str(tmp_path))
    run = nbtrack.init(project="bench", mode="offline", name="million")
    w, rec = _attach(run)
    start = time.monotonic()
    for i in range(N):
        run.log({"loss": 1.0 / (i + 1), "acc": i / N, "lr": 0.1})
    log_time = time.monotonic() - start
    run.finish(quiet=True)
    assert w.updater.join(10)
    elapsed = time.monotonic() - start
    _report(f"real offline run (log loop {log_time:.1f}s)", rec, elapsed, w)
    _check_rate(rec, elapsed)
    assert w.state == "finished" and w.finish.get("done") is True
    assert w.progress["step"] == N - 1
    assert set(w.series) == {"loss", "acc", "lr"}
    assert w.series["loss"]["count"] == N
    assert rec.bytes < 2_000_000 + 100_000 * elapsed
    w.close()


def test_only_changed_series_keys_are_sent() -> None:
    run = FakeRun()
    w, rec = _attach(run)
    run.log({"a": 1.0, "b": 2.0})
    wait_until(lambda: _series_messages(rec), message="no series message for a and b")
    run.log({"a": 3.0})
    wait_until(lambda: len(_series_messages(rec)) >= 2, message="no series message for a")
    run.finish()
    assert w.updater.join(5)
    series_msgs = _series_messages(rec)
    assert set(series_msgs[0]) == {"a", "b"}
    assert set(series_msgs[1]) == {"a"}  # b unchanged: not re-sent
    assert set(w.series) == {"a", "b"}  # the trait keeps the full set for new views
    w.close()


def test_idle_run_sends_nothing_and_close_stops_thread() -> None:
    run = FakeRun()
    w, rec = _attach(run)
    run.log({"a": 1.0})
    wait_until(lambda: _series_messages(rec), message="the logged row was never sent")
    _polls_later(run)  # the news of the row (progress, rate) is out too
    count = len(rec.messages)
    _polls_later(run, polls=4)  # four more looks at an idle run
    assert len(rec.messages) == count  # nothing changed: no message
    thread = w.updater.thread
    w.close()
    assert not thread.is_alive() and rec.closed


def test_nan_and_inf_encoded() -> None:
    assert finite({"v": [math.nan, math.inf, -math.inf, 1.0]}) == {
        "v": ["NaN", "Infinity", "-Infinity", 1.0]}
    run = FakeRun()
    w, rec = _attach(run)
    run.log({"x": math.nan})
    run.log({"x": math.inf})
    run.finish()
    assert w.updater.join(5)
    for m in rec.messages:
        json.dumps(m, allow_nan=False)  # strict JSON: would raise on a float NaN
    x = w.series["x"]  # NaN and inf travel as float64 in the buffers
    assert x["max"] == math.inf and x["last"] == math.inf, x
    w.close()


def test_network_retrying_shows_in_state_and_messages() -> None:
    run = FakeRun(mode="local")
    w, _rec = _attach(run)
    # the first status seen is "ok": the change to retrying is news, and a message
    wait_until(lambda: w.network.get("state") == "ok", message="network state never sent")
    run.network = {**run.network, "state": "retrying", "status_code": 503, "error": "busy"}
    wait_until(lambda: w.state == "retrying", message=lambda: f"widget state {w.state}")
    assert w.network["status_code"] == 503
    assert any("retrying" in m for m in w.messages)
    run.finish()
    assert w.updater.join(5)
    w.close()
    assert widget_state("running", "offline", "ok") == "offline"
    assert widget_state("finished", "local", "retrying") == "finished"


def test_listener_exceptions_and_deterministic_repr() -> None:
    run = FakeRun(name="det")
    w = RunWidget(run, start=False)
    assert repr(w) == "nbtrack run det (tests) — running"
    bundle, _ = w._repr_mimebundle_()
    assert bundle["text/plain"] == repr(w) and "0x" not in bundle["text/plain"]
    assert 'class="nbtrack-badge" data-state="running"' in bundle["text/html"]
    w.close()


def test_no_thread_left() -> None:
    left = [t.name for t in threading.enumerate() if t.name == "nbtrack-ui"]
    assert left == [] or os.environ.get("PYTEST_XDIST_WORKER")


def test_state_and_snapshot_carry_the_whole_copy_as_buffers() -> None:
    """What a reloaded page gets (the state) and what a new view asks for (a snapshot): the
    whole copy as one binary patch, the numbers in buffers, not in JSON."""
    from ipywidgets.widgets.widget import _remove_buffers

    run = FakeRun()
    w, rec = _attach(run)
    for i in range(50):
        run.log({"a": float(i), "b": -float(i)})
    wait_until(lambda: "a" in w.series and w.series["a"]["steps"][-1] == 49,
               message=lambda: f"series: {dict(w.series)}")
    state, paths, buffers = _remove_buffers(w.get_state())
    assert state["series"]["full"] is True and ["series", "ints"] in paths
    assert sum(len(b) for b in buffers) >= 2 * 50 * 8  # two keys' points as float64
    assert {name for _id, name, _origin in state["series"]["reset"]} == {"a", "b"}
    before = len(rec.messages)
    w._handle_msg({"content": {"data": {"method": "custom",
                                        "content": {"nbtrack": "snapshot"}}}, "buffers": []})
    sent = rec.messages[before:]
    assert any(_is_patch(m) and m["content"]["full"] for m in sent), sent
    run.finish()
    assert w.updater.join(5)
    w.close()

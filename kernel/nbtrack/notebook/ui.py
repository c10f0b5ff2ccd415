"""The ``nbtrack-ui`` thread: keeps one ``RunWidget`` current without flooding the browser.

Why a thread per widget that polls: ``run.log`` must stay cheap, so the user thread never
touches the widget. The thread asks the pipeline for the sampled history (memory bounded
however long the run) at most ``1 / interval`` times a second and sends one batched message
holding only the traits that changed, and one binary patch of the series that moved
(``series.py``). Finish events come from ``run.add_listener`` (called in the
thread running ``finish``); the listener only stores them and wakes this thread.
The thread never prints (ipykernel 7 would put the text into an unrelated cell): it logs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from nbtrack.notebook.media import media_of
from nbtrack.sdk.events import (
    AlertRaised,
    Finished,
    FinishProgress,
    RunEvent,
    StateChanged,
    StopRequested,
)
from nbtrack.sdk.mappings import Summary
from nbtrack.sdk.view import RunView
from nbtrack.wire.strictjson import finite

if TYPE_CHECKING:
    from nbtrack.notebook.widget import RunWidget

log = logging.getLogger("nbtrack.ui")

MIN_INTERVAL = 0.25  # at most 4 updates a second
MEDIA_INTERVAL = 1.0  # the summary (newest media values) is read at most once a second
NETWORK_FIELDS = ("state", "status_code", "retry_count", "error", "since")
# system metrics shown as small charts (GPU keys are added when present)
SYSTEM_KEYS = ("system.cpu", "system.memory", "system.proc.cpu.percent",
               "system.proc.memory.rssMB")
_GPU_SUFFIXES = (".gpu", ".memoryAllocated")


def system_view(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The widget's ``system`` trait from ``run.system_metrics()``: a few keys, last 120 points."""
    keys = [k for k in SYSTEM_KEYS if k in metrics]
    keys += sorted(k for k in metrics if k.startswith("system.gpu.") and k.endswith(_GPU_SUFFIXES))
    out: dict[str, Any] = {}
    for k in keys:
        t, v = metrics[k]["t"][-120:], metrics[k]["v"][-120:]
        out[k] = finite({"t": t, "v": v, "last": v[-1] if v else None})
    return out


def widget_state(run_state: str, mode: str, network_state: str | None) -> str:
    """The badge: a running run shows ``offline`` / ``retrying`` when that is the news."""
    if run_state == "running":
        if mode == "offline" or network_state == "offline":
            return "offline"
        if network_state == "retrying":
            return "retrying"
    return run_state


def _series_signature(data: dict[str, Any]) -> tuple[Any, ...]:
    """Cheap change test for one key: count and last point move whenever data moves."""
    steps = data.get("steps") or []
    return (data.get("count"), len(steps), steps[-1] if steps else None, repr(data.get("last")),
            repr(data.get("min")), repr(data.get("max")))


def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Ask the run something; a failure means "no news", never an error in this thread."""
    try:
        return fn(**kwargs)
    except Exception:
        log.debug("run query failed", exc_info=True)
        return None


def _unhandled(event: NoReturn) -> NoReturn:
    """``typing.assert_never`` (Python 3.11+): mypy names an event the match forgot."""
    raise AssertionError(f"unhandled run event {event!r}")


@dataclass
class _Inbox:
    """The newest run event of each kind since the last tick (alerts are kept in order)."""

    state: StateChanged | None = None
    progress: FinishProgress | None = None
    finished: Finished | None = None
    stop: bool = False


class StepRate:
    """Steps per second between polls, smoothed so the number does not jitter."""

    def __init__(self) -> None:
        self._last: tuple[float, int] | None = None
        self.value = 0.0

    def update(self, step: int, now: float) -> float:
        if self._last is not None and now > self._last[0]:
            inst = max(0.0, (step - self._last[1]) / (now - self._last[0]))
            self.value = inst if self.value == 0.0 else 0.5 * self.value + 0.5 * inst
            if inst == 0.0:
                self.value = 0.0
        self._last = (now, step)
        return float(f"{self.value:.3g}")


class RunUpdater:
    """Polls ``run`` and pushes changes into ``widget``; stops after the run finished."""

    def __init__(self, run: RunView, widget: RunWidget, *, interval: float = MIN_INTERVAL,
                 poll_timeout: float = 1.0) -> None:
        self.run = run
        self.widget = widget
        self.interval = max(MIN_INTERVAL, float(interval))
        self.poll_timeout = poll_timeout
        self.thread = threading.Thread(target=self._loop, name="nbtrack-ui", daemon=True)
        self.updates = 0  # batched messages sent, for tests and docs
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._inbox = _Inbox()
        self._remove_listener: Callable[[], None] | None = None
        self._sent: dict[str, Any] = {}
        self._series_sig: dict[str, tuple[Any, ...]] = {}
        self._rate = StepRate()
        self._started = False
        self._notes: list[str] = []  # alerts, in order (the inbox keeps only the newest)
        self._system_sig: tuple[Any, ...] | None = None
        self._stop_said = False
        self._media_at = 0.0

    # ---- control -------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            self._remove_listener = self.run.add_listener(self._on_event)
        except Exception:
            log.debug("add_listener failed", exc_info=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float | None = None) -> bool:
        """True when the thread ended in time (or never started)."""
        if self.thread.ident is not None:
            self.thread.join(timeout)
        return not self.thread.is_alive()

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()

    def _on_event(self, event: RunEvent) -> None:
        """Run listener: keep the newest event per kind, wake the thread. Cheap, no raise."""
        with self._lock:
            match event:
                case AlertRaised(title=title, text=text, level=level):
                    self._notes.append(f"{level} alert: {title}: {text}")
                case StateChanged():
                    self._inbox.state = event
                case FinishProgress():
                    self._inbox.progress = event
                case Finished():
                    self._inbox.finished = event
                case StopRequested():
                    self._inbox.stop = True
                case _:
                    _unhandled(event)
        self._wake.set()

    # ---- loop ----------------------------------------------------------------------------

    def _loop(self) -> None:
        last_update = 0.0
        try:
            while not self._stop.is_set():
                self._wake.wait(self.interval)
                self._wake.clear()
                wait_more = last_update + self.interval - time.monotonic()
                if wait_more > 0 and self._stop.wait(wait_more):
                    break
                if self._stop.is_set() or self.widget.comm is None:
                    break
                try:
                    done = self.tick()
                except Exception:
                    log.exception("widget update failed")
                    done = False
                last_update = time.monotonic()
                if done:
                    break
        finally:
            self._detach()

    def _detach(self) -> None:
        remove, self._remove_listener = self._remove_listener, None
        if remove is not None:
            try:
                remove()
            except Exception:
                log.debug("removing the listener failed", exc_info=True)

    # ---- one update ----------------------------------------------------------------------

    def tick(self) -> bool:
        """Gather news, send one batched message; True once the run's end has been shown."""
        with self._lock:
            inbox, self._inbox = self._inbox, _Inbox()
            notes, self._notes = self._notes, []
        for note in notes:
            self.widget.add_message(note)
        if not self._stop_said and (inbox.stop or self.run.stop_requested):
            self._stop_said = True
            self.widget.add_message("stop requested: the run stops at its next log()")
        finished = inbox.finished
        timeout = 0.2 if finished is not None else self.poll_timeout
        changes: dict[str, Any] = {}
        changed = self._series_changes(_call(self.run.sampled_history, timeout=timeout),
                                       changes, rebuild=finished is not None)
        network = None
        if finished is None:
            network = _call(self.run.network_status, timeout=timeout)
            self._network_changes(network, changes)
        self._system_changes(changes)
        self._media_changes(changes, finished)
        if inbox.progress is not None:
            self._set(changes, "finish", finite(inbox.progress.as_dict()))
        run_state = inbox.state.state if inbox.state else self.run.state
        if finished is not None:
            run_state = finished.state
            self._finished_changes(finished, changes)
        net_state = (network or {}).get("state") if network else self._sent.get(
            "network", {}).get("state")
        self._set(changes, "state", widget_state(run_state, self.run.mode, net_state))
        if changed:
            self.widget.push_series(changed, rebuild=finished is not None)
        if changes:
            self.widget.apply(changes)
            self.updates += 1
        return finished is not None

    def _set(self, changes: dict[str, Any], name: str, value: Any) -> None:
        if self._sent.get(name) != value:
            self._sent[name] = value
            changes[name] = value

    def _series_changes(self, hist: dict[str, Any] | None, changes: dict[str, Any], *,
                        rebuild: bool = False) -> dict[str, Any]:
        """The keys whose sampled series moved (every key when ``rebuild``); the progress
        trait into ``changes``."""
        if not hist:
            return {}
        changed: dict[str, Any] = {}
        for key, data in (hist.get("series") or {}).items():
            sig = _series_signature(data)
            if rebuild or self._series_sig.get(key) != sig:
                self._series_sig[key] = sig
                changed[key] = data
        step = int(hist.get("last_step") or 0)
        rate = self._rate.update(step, time.monotonic())
        progress = {"step": step, "rows": int(hist.get("rows") or 0), "steps_per_sec": rate}
        if {k: self._sent.get("progress", {}).get(k) for k in progress} != progress:
            elapsed = round(time.time() - self.run.start_time, 1)
            self._sent["progress"] = changes["progress"] = {**progress, "elapsed": elapsed}
        return changed

    def _system_changes(self, changes: dict[str, Any]) -> None:
        metrics = _call(self.run.system_metrics)
        if not metrics:
            return
        cpu = metrics.get("system.cpu") or {}
        sig = (len(metrics), len(cpu.get("t", [])), (cpu.get("t") or [None])[-1])
        if sig != self._system_sig:
            self._system_sig = sig
            self._set(changes, "system", system_view(metrics))

    def _media_changes(self, changes: dict[str, Any], finished: Finished | None) -> None:
        """The ``media`` trait from the summary: paths and sizes, never pixels."""
        now = time.monotonic()
        if finished is None and now - self._media_at < MEDIA_INTERVAL:
            return
        self._media_at = now
        summary: Mapping[str, Any] | None = (
            finished.summary if finished is not None else _call(self._summary))
        if summary:
            media = media_of(summary)
            if media or "media" in self._sent:
                self._set(changes, "media", finite(media))

    def _summary(self) -> Mapping[str, Any]:
        s = self.run.summary
        return s.as_dict() if isinstance(s, Summary) else dict(s)  # one fetch, not one a key

    def _network_changes(self, network: dict[str, Any] | None, changes: dict[str, Any]) -> None:
        if not network:
            return
        value = finite({f: network.get(f) for f in NETWORK_FIELDS})
        old = self._sent.get("network", {}).get("state")
        self._set(changes, "network", value)
        if old is not None and value["state"] != old and value["state"] in ("retrying", "failed"):
            code = value.get("status_code")
            note = f"network {value['state']}" + (f" (HTTP {code})" if code else "")
            self.widget.add_message(note + (f": {value['error']}" if value.get("error") else ""))

    def _finished_changes(self, finished: Finished, changes: dict[str, Any]) -> None:
        self._set(changes, "summary", finite(dict(finished.summary)))
        self._set(changes, "sync_command", finished.sync_command or "")
        done = {**self._sent.get("finish", {}), "done": True}
        self._set(changes, "finish", done)

"""The Run object: what the user holds between ``init`` and ``finish``.

A thin face over the pipeline: ``log`` checks and publishes, the rest delegates to the
module that owns the concern: live views (:mod:`~nbtrack.sdk.live`), listeners and their
events (:mod:`~nbtrack.sdk.events`), alerts (:mod:`~nbtrack.sdk.alerts`), stop requests
(:mod:`~nbtrack.sdk.stop`), the finish protocol (:mod:`~nbtrack.sdk.finish`) and what finish
prints (:mod:`~nbtrack.sdk.outcome`). What the notebook layer reads is
:class:`nbtrack.sdk.view.RunView`.
"""

from __future__ import annotations

import collections
import datetime
import logging
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.pipeline.interface import Interface
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.sdk import finish as finish_protocol
from nbtrack.sdk import hooks
from nbtrack.sdk.alerts import AlertLimiter, alert_record, check_alert
from nbtrack.sdk.bounds import RunBounds
from nbtrack.sdk.events import AlertRaised, Finished, Listener, Listeners, StateChanged
from nbtrack.sdk.live import OFFLINE_NETWORK, LiveQueries
from nbtrack.sdk.mappings import Config, Summary
from nbtrack.sdk.media.prepare import estimated, is_media, prepare_values, submit_row
from nbtrack.sdk.outcome import print_detached_again, print_interrupted, print_outcome
from nbtrack.sdk.runstream import RunStream
from nbtrack.sdk.stop import StopPolicy
from nbtrack.sdk.values import SCALAR_TYPES, check_metric, check_step, is_plain, normalize
from nbtrack.settings import Settings

logger = logging.getLogger("nbtrack.sdk.run")
# why: after Ctrl-C in finish the user is waiting; ending the stages (the log is local)
# takes well under this, and the network is aborted, not waited on
INTERRUPTED_CLOSE = 5.0

__all__ = ["Run", "RunFinishedError"]


class RunFinishedError(RuntimeError):
    """Raised by ``log`` on a run that has finished."""


class Run:
    """A tracked run. Created by ``nbtrack.init``; ``log`` is safe from any thread.

    It is given everything at construction: the started pipeline and capture threads
    (``stream``, None when disabled) and the run as the server registered it.
    """

    def __init__(self, settings: Settings, stream: RunStream | None, record: pb.RunRecord,
                 config: dict[str, Any], pending_warnings: collections.deque[str]) -> None:
        self._settings = settings
        self._stream = stream
        self._iface: Interface | None = stream.interface if stream else None
        self._stop_event = stream.stop_requested if stream else None
        self._live = LiveQueries(self._iface, stream)
        self._record = record
        self._bounds = RunBounds()  # the known keys (hot path), the summary's charge
        self._warnings = pending_warnings
        self._listeners = Listeners()
        self._stop = StopPolicy(self._listeners)
        self._alerts = AlertLimiter()
        self._final_history: dict[str, Any] | None = None  # the charts at finish, kept
        self._step_seen = int(record.starting_step)  # run.step's last answer, kept at finish
        self._late_threads: set[str] = set()  # threads whose log() met a finishing run
        self._lock = threading.Lock()
        self._state = "running"
        self.exit_code: int | None = None
        self.sync_command: str | None = None
        self.log_problem: str | None = None  # set by finish when the log is incomplete
        # after finish: lines and updates the server refused for good (kept in the log)
        self.not_stored = 0
        self.not_stored_reason = ""
        self.start_time = record.start_time
        self.config = Config(config, self._publish_config)
        self.summary = Summary(self._live.summary, self._publish_summary,
                               self._bounds.admit_summary)
        if settings.mode == "offline":
            self.sync_command = f"nbtrack sync {self.log_path}"

    # ------------------------------------------------------------ identity
    @property
    def id(self) -> str:
        return self._record.run_id

    @property
    def name(self) -> str:
        return self._record.display_name or self._record.run_id

    @property
    def project(self) -> str:
        return self._record.project

    @property
    def entity(self) -> str:
        return self._record.entity

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def url(self) -> str:
        return self._record.url

    def _link_credentials(self) -> tuple[str | None, str | None]:
        """(server URL, key) for :mod:`nbtrack.client.links` to ask the server for a one-time
        pages login; the key is never printed. Nothing for runs without a server."""
        if self.mode not in ("local", "online"):
            return None, None
        return self._settings.base_url, self._settings.api_key

    @property
    def dir(self) -> Path:
        return self._settings.run_dir

    @property
    def log_path(self) -> Path:
        return self._settings.log_path

    @property
    def mode(self) -> str:
        return self._settings.mode

    @property
    def state(self) -> str:
        return self._state

    @property
    def resumed(self) -> bool:
        return self._record.resumed

    @property
    def starting_step(self) -> int:
        return self._record.starting_step

    @property
    def step(self) -> int:
        """The step of the next ``log()`` call (W&B's ``run.step``).

        Asks the handler, which alone knows it (explicit steps, ``commit=False`` rows), after
        everything logged so far: waits at most 30 s. After ``finish``, the step it ended on.
        """
        step = self._live.next_step(timeout=30.0)
        if step is not None:
            self._step_seen = step
        return self._step_seen

    def __repr__(self) -> str:
        return f"<nbtrack.Run name={self.name} project={self.project} state={self._state}>"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from nbtrack.sdk.display import run_mimebundle

        return run_mimebundle(self, include, exclude)

    # ------------------------------------------------------------ logging
    def log(self, data: dict[str, Any], step: int | None = None,
            commit: bool | None = None) -> None:
        """Log metrics at the current step. Atomic: a bad key raises, nothing of the call is logged.

        As in W&B: without ``step`` each call commits a row and advances the step; with
        ``step=s`` the row at ``s`` stays open so later calls at ``s`` merge into it, and
        it is committed by a call at a higher step, by ``commit=True`` or at finish.
        """
        if self._warnings:
            self._raise_warnings()
        stop = self._stop_event
        if stop is not None and stop.is_set() and self._stop.at_log(self):
            return
        if self._state != "running":
            raise self._refused()
        if step is not None:
            step = check_step(step)
        bounds = self._bounds  # bounds.fast(data), inlined: the hot path
        if (type(data) is not dict or len(data) > bounds.plain_keys
                or not is_plain(data, bounds.known)):
            try:
                data = normalize(data)
                media = [k for k, v in data.items() if type(v) not in SCALAR_TYPES
                         and is_media(v)]
                if media:
                    prepared = prepare_values(data, media)  # checked + copied, not handed on
                    self._bounds.admit(estimated(data, media))
                    data = submit_row(data, prepared, self._iface.submit_media
                                      if self._iface is not None else None)
                else:
                    self._bounds.admit(data)
            except (TypeError, ValueError, ImportError) as exc:
                raise type(exc)(f"{exc} (nothing of this log call was logged)") from None
        else:
            data = data.copy()
        if commit is None:
            commit = step is None
        if self._iface is not None:
            self._iface.publish_log(data, step, bool(commit))

    def define_metric(self, name: str, step_metric: str | None = None,
                      summary: str | list[str] | tuple[str, ...] | None = None,
                      goal: str | None = None,
                      hidden: bool = False) -> None:
        """Choose how ``name`` (may end with ``*``) is summarized: e.g. ``summary="min,max"``."""
        aggs = check_metric(name, summary, goal)
        if self._iface is not None:
            self._iface.publish_metric(pb.MetricRecord(
                name=name, step_metric=step_metric or "", summary=aggs, goal=goal or "",
                hidden=hidden))

    def save(self, path: str | Path, name: str | None = None) -> Path:
        """Upload a file with the run; it is copied into the run directory first."""
        source = Path(path).expanduser()
        if not source.is_file():
            raise FileNotFoundError(f"save({str(path)!r}): no such file")
        target_name = name or source.name
        if target_name.startswith("/") or ".." in Path(target_name).parts or "\\" in target_name:
            raise ValueError(f"save(name={target_name!r}): must be a relative name without '..'")
        files_dir = self.dir / "files"
        target = files_dir / target_name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        if self._iface is not None:
            self._iface.publish_files([pb.FileItem(path=str(target), name=target_name,
                                                   policy="now")])
        return target

    def system_metrics(self) -> dict[str, dict[str, list[float]]]:
        """Recent system metrics sampled in this kernel: ``{key: {"t": [...], "v": [...]}}``."""
        return self._stream.system_metrics() if self._stream is not None else {}

    # ------------------------------------------------------------ alerts
    def alert(self, title: str, text: str, level: str = "INFO",
              wait_duration: float | datetime.timedelta = 0.0) -> bool:
        """Send an alert with the run; one per ``title`` per ``wait_duration`` seconds.

        Returns False when it was suppressed by the rate limit.
        """
        title, text, level, wait = check_alert(title, text, level, wait_duration)
        if self._state != "running":
            raise RunFinishedError(f"run {self.name} is {self._state}; alerts need a running run")
        if not self._alerts.allow(title, wait):
            return False
        if self._iface is not None:
            self._iface.publish(alert_record(title, text, level))
        self._listeners.emit(AlertRaised(title, text, level))
        return True

    # ------------------------------------------------------------ stop requests
    def on_stop(self, fn: Callable[[Run], None]) -> None:
        """Call ``fn(run)`` in the logging thread when a stop is requested (instead of raising)."""
        self._stop.add(fn)

    @property
    def stop_requested(self) -> bool:
        return self._stop_event is not None and self._stop_event.is_set()

    def _raise_warnings(self) -> None:
        while self._warnings:
            warnings.warn(f"nbtrack: {self._warnings.popleft()}", UserWarning, stacklevel=3)

    def _publish_config(self, update: dict[str, Any], remove: list[str]) -> None:
        if self._iface is not None:
            self._iface.publish_config(update, remove)

    def _publish_summary(self, update: dict[str, Any], remove: list[str]) -> None:
        if self._iface is not None:
            self._iface.publish_summary(update, remove)

    # ------------------------------------------------------------ live views
    def sampled_history(self, keys: list[str] | None = None,
                        timeout: float = 1.0) -> dict[str, Any] | None:
        """The bounded, extremes-keeping history the handler samples, for live charts."""
        if not self._live.open:
            return self._final_history
        return self._live.sampled_history(keys, timeout)

    def network_status(self, timeout: float = 1.0) -> dict[str, Any] | None:
        if self.mode == "offline":
            return dict(OFFLINE_NETWORK)
        return self._live.network_status(timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything logged so far has passed the handler."""
        return self._live.flush(timeout)

    def add_listener(self, fn: Listener) -> Callable[[], None]:
        """Call ``fn(event)`` with each :mod:`nbtrack.sdk.events` event; returns the remover."""
        return self._listeners.add(fn)

    # ------------------------------------------------------------ finish
    def finish(self, exit_code: int = 0, timeout: float | None = None,
               quiet: bool = False) -> None:
        """Flush everything, mark the run finished; bounded by ``timeout`` seconds."""
        with self._lock:
            if self._state != "running":
                if self._state == "detached" and self.sync_command and not quiet:
                    print_detached_again(self)  # an interrupted or timed-out finish
                return
            self._state = "finishing"
        self._listeners.emit(StateChanged("finishing"))
        self.exit_code = int(exit_code)
        budget = self._settings.finish_timeout if timeout is None else float(timeout)
        deadline = time.monotonic() + max(budget, 0.0)
        outcome = None
        exit_published = False
        try:
            if self._stream is not None:
                self._stream.stop_capture()
            if self._iface is not None and self._stream is not None:
                self._iface.publish_exit(self.exit_code, time.time() - self.start_time)
                exit_published = True
                outcome = finish_protocol.walk(self._iface, deadline, self._listeners.emit)
                final_summary = self._live.summary() if outcome.completed else None
                last_step = self._live.next_step(timeout=2.0) if outcome.completed else None
                if last_step is not None:  # what run.step says once the pipeline is closed
                    self._step_seen = last_step
                if outcome.completed:  # the final charts: the widget, %track_finish's card
                    self._final_history = self.sampled_history(timeout=2.0)
                report = self._stream.close(max(deadline - time.monotonic(), 2.0),
                                            abort_network=not outcome.completed)
                if report.ring_kept:  # the disk refused part of the log: the ring keeps it
                    self.log_problem = (f"the transaction log could not be written completely "
                                        f"({report.writer_error or 'the writer did not end'})")
                self.not_stored = outcome.not_stored
                self.not_stored_reason = outcome.not_stored_reason
                if not outcome.completed or outcome.not_stored or report.ring_kept:
                    self.sync_command = f"nbtrack sync {self.log_path}"
            else:
                final_summary = {}
        except KeyboardInterrupt:
            self._interrupted(exit_published, quiet)
            raise
        state = "finished" if self.exit_code == 0 else "failed"
        if outcome is not None and not outcome.completed:
            state = "detached"
        self.summary._freeze(final_summary or {})
        self.config._lock()
        self._state = state
        self._listeners.emit(StateChanged(state))
        self._listeners.emit(Finished(state, self.exit_code, self.summary.as_dict(),
                                      self.sync_command))
        if not quiet:
            print_outcome(self, outcome, budget)
            if self._late_threads:  # their tracebacks are in the cell too: say why
                print(f"nbtrack: thread {', '.join(sorted(self._late_threads))} called log() "
                      f"while run {self.name} was finishing; those calls raised "
                      "RunFinishedError and were not logged (stop or join the thread before "
                      "finish)", file=sys.stderr)
        hooks.emit("run_finish", self)

    def _refused(self) -> RunFinishedError:
        """log() on a run that is not running; a thread still logging during finish is
        named in finish's outcome."""
        if self._state == "finishing":
            self._late_threads.add(threading.current_thread().name)
        return RunFinishedError(f"run {self.name} is {self._state}; start a new one with "
                                "nbtrack.init() to log more")

    def _interrupted(self, exit_published: bool, quiet: bool) -> None:
        """Ctrl-C inside finish: detach now (the log keeps the exit record and every
        row), so a second ``finish()`` or ``nbtrack sync`` completes what was cut short."""
        try:
            if self._iface is not None and self._stream is not None:
                if not exit_published:
                    self._iface.publish_exit(int(self.exit_code or 0),
                                             time.time() - self.start_time)
                self._stream.close(INTERRUPTED_CLOSE, abort_network=True)
                self.sync_command = f"nbtrack sync {self.log_path}"
        except KeyboardInterrupt:
            logger.warning("finish interrupted twice; the run's log keeps what was written")
            self.sync_command = f"nbtrack sync {self.log_path}"
        finally:
            self._state = "detached" if self.sync_command else "failed"
            self.summary._freeze({})
            self.config._lock()
        self._listeners.emit(StateChanged(self._state))
        self._listeners.emit(Finished(self._state, self.exit_code, self.summary.as_dict(),
                                      self.sync_command))
        if not quiet:
            print_interrupted(self)
        hooks.emit("run_finish", self)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(exit_code=0 if exc_type is None else 1)


if TYPE_CHECKING:
    from nbtrack.sdk.view import RunView

    def _is_a_run_view(run: Run) -> RunView:
        return run  # mypy checks that Run gives the notebook layer all RunView names

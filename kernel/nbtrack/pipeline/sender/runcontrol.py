"""The ``nbtrack-runcontrol`` thread: the run's GraphQL calls, in the order they were asked.

The sender thread never waits for the server: it queues jobs here (a bounded
queue with the ``END`` marker) and goes on. This thread runs them one at a time:

- ``RegisterRun``: create or resume the run (``registrar.py``), answer init, then
  open the poster and tell the file pusher which run the files belong to;
- ``UpdateConfig``: a debounced config upsert;
- ``SendAlert``: ``notifyScriptableRunAlert``;
- ``FinishRun``: have the poster send every line and the final post, then, for a
  replayed log without an exit record, mark the run ``crashed``.

Between jobs it asks the server every ``stop_poll_interval`` seconds whether the run
should stop (W&B's ``RunStoppedStatus``) and sets ``stop_requested`` when it should.
At ``END`` it hands the end marker on to the poster, after every job before it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbtrack.client import gql
from nbtrack.client.errors import TransportError
from nbtrack.client.policy import KEY_REFUSED, refusal
from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.queues import END, ByteQueue
from nbtrack.pipeline.sender.filestream_wire import RunIdentity
from nbtrack.pipeline.sender.poster import FileStreamPoster
from nbtrack.pipeline.sender.registrar import RunRegistrar, offsets_of
from nbtrack.pipeline.stagethread import StageThread, ThreadedStage
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.wire.ordering import next_seq

log = logging.getLogger("nbtrack.pipeline.sender.runcontrol")

RunKnown = Callable[[RunIdentity | None], None]  # None: the run will never exist


@dataclass
class RegisterRun:
    run: pb.RunRecord
    metrics: list[dict[str, Any]]
    respond: Callable[[pb.RunResult], None] | None  # None: nobody waits (a replayed log)


@dataclass
class UpdateConfig:
    config_json: str  # W&B format, already encoded


@dataclass
class SendAlert:
    alert: pb.AlertRecord


@dataclass
class FinishRun:
    exit_code: int | None
    complete: bool  # False: a replayed log that never exited; the run is marked crashed
    done: Callable[[], None]


Job = RegisterRun | UpdateConfig | SendAlert | FinishRun


class RunControl(ThreadedStage):
    """See the module docstring."""

    name = "runcontrol"

    def __init__(self, transport: WandbClient, registrar: RunRegistrar, poster: FileStreamPoster,
                 *, on_run_known: RunKnown, stop_requested: threading.Event,
                 stop_poll_interval: float = 10.0, queue_bytes: int = 1 << 20) -> None:
        self._t = transport
        self._registrar = registrar
        self._poster = poster
        self._on_run_known = on_run_known
        self.stop_requested = stop_requested
        self.stop_poll_interval = stop_poll_interval
        self._q = ByteQueue(queue_bytes, "runcontrol_q")
        self._thread = StageThread(self._loop, "nbtrack-runcontrol")
        # this thread only (read by others once it ended)
        self._run: pb.RunRecord | None = None
        self.failed = False  # the run could not be created on the server
        self.finished = False
        self.crash_marked = False
        self.not_stored = 0  # updates the server refused for good (they stay in the log)
        self.not_stored_reason = ""
        self._last_stop_poll = 0.0
        self._stop_poll_ok = True

    # ------------------------------------------------------------------ life

    def end(self) -> None:
        """The end marker: run the jobs already queued, then end the poster and stop."""
        self._q.put_end()


    def left(self) -> str:
        n = len(self._q)
        return f"{n} run updates not sent" if n else ""

    @property
    def registered(self) -> bool:
        return self._run is not None

    # ------------------------------------------------------------------ jobs (sender thread)
    def submit(self, job: Job) -> None:
        size = 256
        if isinstance(job, UpdateConfig):
            size += len(job.config_json)
        elif isinstance(job, RegisterRun):
            size += job.run.ByteSize()
        self._q.put(job, size)

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        try:
            while True:
                batch = self._q.get_batch(1, self._idle_wait())
                for job in batch:
                    if job is END:
                        return
                    self._do(job)
                self._maybe_poll_stop()
        except Exception:  # pragma: no cover - the loop must never raise
            log.exception("run control crashed")
        finally:
            self._poster.end()

    def _idle_wait(self) -> float:
        if self._polling:
            return max(0.0, min(1.0, self._last_stop_poll + self.stop_poll_interval
                                - time.monotonic()))
        return 1.0

    def _do(self, job: Job) -> None:
        try:
            if isinstance(job, RegisterRun):
                self._register(job)
            elif isinstance(job, UpdateConfig):
                self._update_config(job)
            elif isinstance(job, SendAlert):
                self._send_alert(job)
            elif isinstance(job, FinishRun):
                self._finish(job)
        except Exception:
            log.exception("run control: %s failed", type(job).__name__)
            if isinstance(job, FinishRun):
                job.done()

    def _register(self, job: RegisterRun) -> None:
        result = self._registrar.register(job.run, job.metrics)
        if result.error.code != pb.ErrorInfo.NONE:
            log.error("the run could not be created: %s", result.error.message)
            self.failed = True
            self._poster.run_failed()
            self._on_run_known(None)
        else:
            run = result.run
            self._run = run
            ident = RunIdentity(run.entity, run.project, run.run_id)
            self._poster.open(ident, offsets_of(run) if run.offsets_known else None)
            self._on_run_known(ident)
        if job.respond is not None:
            job.respond(result)

    def _update_config(self, job: UpdateConfig) -> None:
        if self._run is None:
            log.debug("config upsert skipped: the run is not on the server")
            return
        variables = gql.upsert_variables(self._run, self._run.entity,
                                         config_json=job.config_json, full=False)
        try:
            self._t.graphql(gql.UPSERT_BUCKET, variables, seq=next_seq())
        except TransportError as e:
            if not e.aborted:
                self._not_stored("config update", e)

    def _not_stored(self, what: str, e: TransportError) -> None:
        """An update refused for good: kept in the log, and finish names ``nbtrack sync``."""
        if refusal(e.status) == "key":
            why = f"{what}: {KEY_REFUSED} ({e}); check the key"
        else:
            why = f"{what} not stored by the server: {e}"
        log.error("%s; it stays in the transaction log for `nbtrack sync`", why)
        self.not_stored += 1
        self.not_stored_reason = self.not_stored_reason or why

    def _send_alert(self, job: SendAlert) -> None:
        a = job.alert
        if self._run is None:
            log.warning("alert %r not sent: the run is not on the server", a.title)
            return
        try:
            self._t.graphql(gql.NOTIFY_ALERT, {
                "entityName": self._run.entity, "projectName": self._run.project,
                "runName": self._run.run_id, "title": a.title, "text": a.text,
                "severity": a.level or "INFO"})
        except TransportError as e:
            if not e.aborted:
                log.error("alert %r not accepted by the server: %s", a.title, e)

    def _finish(self, job: FinishRun) -> None:
        try:
            if self._run is None and not self.failed:
                # no run record came: files cannot wait for a run that will never exist
                log.error("file_stream: final flush but the run was never created")
                self._on_run_known(None)
            done = self._poster.finish(job.exit_code, complete=job.complete)
            while not done.wait(0.5):
                if not self._poster.alive:
                    break
            if self._run is not None and not job.complete and not self.finished:
                self._mark_crashed(self._run)
            self.finished = True
        finally:
            job.done()

    def _mark_crashed(self, run: pb.RunRecord) -> None:
        if self._t.closed:
            return
        try:
            self._t.graphql(gql.UPSERT_BUCKET,
                            gql.upsert_variables(run, run.entity, state="crashed", full=False),
                            seq=next_seq())
            self.crash_marked = True
        except TransportError as e:
            if not e.aborted:
                self._not_stored("marking the run crashed", e)

    # ------------------------------------------------------------------ stop requests
    @property
    def _polling(self) -> bool:
        return (self._stop_poll_ok and self.stop_poll_interval > 0 and self._run is not None
                and not self.finished and not self.stop_requested.is_set())

    def _maybe_poll_stop(self) -> None:
        """Ask whether the run should stop, every ``stop_poll_interval`` seconds."""
        if not self._polling or self._t.closed or self._run is None:
            return
        now = time.monotonic()
        if now - self._last_stop_poll < self.stop_poll_interval:
            return
        self._last_stop_poll = now
        run = self._run
        try:
            data = self._t.graphql(gql.RUN_STOPPED_STATUS, {
                "projectName": run.project, "entityName": run.entity or None,
                "runId": run.run_id})
        except TransportError as e:
            if e.status is not None and 400 <= e.status < 500:
                self._stop_poll_ok = False  # a server without the query: stop asking
            return
        if gql.parse_stopped(data):
            log.info("the server asked run %s to stop", run.run_id)
            self.stop_requested.set()

"""The Sender stage: routes records to the network workers; never blocks on the network.

The sender thread takes batches from its queue and dispatches each record through
explicit tables. Per history row it does almost nothing (the rows are handed to
the poster's line buffer); network I/O happens in the workers the wiring
(``stream.py``) built and gave it (:class:`NetworkWorkers`):

- :class:`~nbtrack.pipeline.sender.runcontrol.RunControl`: the run's GraphQL calls
  in order (create or resume the run, debounced config, alerts, stop polling);
- :class:`~nbtrack.pipeline.sender.poster.FileStreamPoster`: ``file_stream`` posts;
- :class:`~nbtrack.pipeline.sender.filepusher.FilePusher`: ``createRunFiles`` + PUT.

Requests are answered at once from counters (``poll_exit``, ``network_status``), or by a
worker when they must wait (the run upsert, ``JOIN_FP``,
``FLUSH_FS``), so the sender thread keeps answering ``poll_exit`` meanwhile. At
``END`` it hands the end marker on to its workers.

Without workers (offline) every request is answered at once, nothing is sent and
``poll_exit`` says done. In replay (``nbtrack sync``) the records come from a
transaction log: nobody waits for their answers, offsets come from the log, and a
log without an exit record leaves the run ``crashed``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.dispatch import UnknownRecord, describe, routes
from nbtrack.pipeline.queues import END, ByteQueue
from nbtrack.pipeline.sender.configdebounce import ConfigDebouncer
from nbtrack.pipeline.sender.filepusher import FilePusher
from nbtrack.pipeline.sender.poster import FileStreamPoster
from nbtrack.pipeline.sender.registrar import offsets_of
from nbtrack.pipeline.sender.runcontrol import (
    FinishRun,
    RegisterRun,
    RunControl,
    SendAlert,
    UpdateConfig,
)
from nbtrack.pipeline.stagethread import StageThread, ThreadedStage
from nbtrack.proto import nbtrack_pb2 as pb

log = logging.getLogger("nbtrack.pipeline.sender.stage")

Respond = Callable[[pb.Result], None]

D = pb.DeferRequest
# defer states the sender answers at once (after doing their small work)
_IMMEDIATE_DEFER = {
    D.BEGIN, D.FLUSH_RUN, D.FLUSH_STATS, D.FLUSH_PARTIAL_HISTORY, D.FLUSH_SUM,
    D.FLUSH_DEBOUNCER, D.FLUSH_OUTPUT, D.FLUSH_DIR, D.FLUSH_FP,
}


@dataclass(frozen=True)
class NetworkWorkers:
    """The threads that do the sender's network I/O, built and joined by the wiring."""

    transport: WandbClient
    control: RunControl
    poster: FileStreamPoster
    pusher: FilePusher


class Sender(ThreadedStage):
    """The ``nbtrack-sender`` thread; see the module docstring."""

    name = "sender"

    def __init__(self, inq: ByteQueue, respond: Respond, workers: NetworkWorkers | None, *,
                 stop_requested: threading.Event, replay: bool = False,
                 config_debounce: float = 1.0) -> None:
        self._inq = inq
        self._respond = respond
        self._w = workers
        self._stop_requested = stop_requested
        self._replay = replay
        self._config = ConfigDebouncer(config_debounce)
        self._thread = StageThread(self._loop, "nbtrack-sender")
        self._end_files: dict[str, pb.FileItem] = {}
        self._exit: pb.ExitRecord | None = None
        self._fs_flushed = threading.Event()
        self._fp_joined = threading.Event()
        self._ended = False
        self.errors: collections.Counter[str] = collections.Counter()

    # ------------------------------------------------------------------ life


    def left(self) -> str:
        n = len(self._inq)
        return f"{n} records not routed" if n else ""

    @property
    def delivered(self) -> bool:
        """After FLUSH_FS: the server acknowledged every line, file and the run's end."""
        w = self._w
        if w is None:
            return False
        ended_well = w.poster.final_acked or w.control.crash_marked
        return (w.control.registered and not w.control.failed and ended_well
                and self.not_stored()[0] == 0 and w.pusher.ok and not w.transport.closed)

    def not_stored(self) -> tuple[int, str]:
        """(lines and run updates the server refused for good, why the first was)."""
        w = self._w
        if w is None:
            return 0, ""
        n = w.poster.dropped_lines + w.control.not_stored
        return n, (w.poster.not_stored_reason or w.control.not_stored_reason) if n else ""

    def _loop(self) -> None:
        try:
            while True:
                wait = self._config.due_in(time.monotonic())
                batch = self._inq.get_batch(512, 1.0 if wait is None else wait)
                for item in batch:
                    if item is END:
                        self._on_end()
                        return
                    self._route(item)
                if self._config.due_in(time.monotonic()) == 0.0:
                    self._push_config()
        except Exception:  # pragma: no cover - never raise out of the thread
            log.exception("sender thread crashed")
            self._on_end()

    def _on_end(self) -> None:
        """Hand the end marker on: run control ends the poster after its last job."""
        if self._ended:
            return
        self._ended = True
        if self._config.pending:
            self._push_config()
        if self._w is not None:
            self._w.control.end()
            self._w.pusher.end()

    # ------------------------------------------------------------------ dispatch
    def handle(self, record: pb.Record) -> None:
        """Route one record; :class:`UnknownRecord` (a malformed item) propagates."""
        if not isinstance(record, pb.Record):
            raise UnknownRecord(f"an item of type {type(record).__name__} on sender_q")
        route = self.ROUTES.get(record.WhichOneof("record_type"))
        if route is None:
            raise UnknownRecord("a record with no kind set")
        route(self, record)

    def _route(self, record: pb.Record) -> None:
        """:meth:`handle` in the sender thread: what goes wrong is logged and counted, and
        the thread goes on with the next record."""
        try:
            self.handle(record)
        except UnknownRecord as e:
            self.errors["unknown"] += 1
            log.error("sender: %s (%s): not routed", e, describe(record))
        except Exception:
            self.errors["failed"] += 1
            log.exception("sender: failed to handle %s", describe(record))

    def _answer(self, slot: str, result: pb.Result) -> None:
        result.mailbox_slot = slot
        try:
            self._respond(result)
        except Exception:
            log.exception("sender: respond failed")

    def _on_run(self, record: pb.Record) -> None:
        run = record.run
        self._config.run_config(run.config_json)
        slot = "" if self._replay else record.control.mailbox_slot
        w = self._w
        if w is None:
            if slot:
                self._answer(slot, pb.Result(run_result=pb.RunResult(run=run)))
            return
        if self._replay:
            # the log says where each file continues, before any of its lines
            if run.offsets_known:
                w.poster.set_offsets(offsets_of(run))
        elif run.offsets_known:
            # init re-publishes the run it was answered with: the server already decided
            # the offsets (run control applied them); nothing to ask again
            if slot:
                self._answer(slot, pb.Result(run_result=pb.RunResult(run=run)))
            return
        respond = None
        if slot:
            def respond(rr: pb.RunResult) -> None:
                self._answer(slot, pb.Result(run_result=rr))
        w.control.submit(RegisterRun(run, self._config.metrics, respond))

    def _on_history(self, record: pb.Record) -> None:
        if self._w is not None:
            rows = list(record.history.rows)
            self._w.poster.add_history(rows, sum(map(len, rows)), record.num,
                                       self._line_start(record.history))

    def _line_start(self, rec: pb.HistoryRecord | pb.OutputRecord | pb.StatsRecord) -> int | None:
        """In replay, the line index the handler gave the record (a skipped damaged block
        leaves a gap); live, the poster's own count is the same and is used."""
        if self._replay and rec.HasField("line_start"):
            return int(rec.line_start)
        return None

    def _on_summary(self, record: pb.Record) -> None:
        if self._w is not None and record.summary.full_json:
            self._w.poster.set_summary(record.summary.full_json)

    def _on_config(self, record: pb.Record) -> None:
        if record.config.full_json:
            self._config.config(record.config.full_json, time.monotonic())

    def _on_metric(self, record: pb.Record) -> None:
        if record.metric.name:
            self._config.metric(record.metric, time.monotonic())

    def _push_config(self) -> None:
        config_json = self._config.take()
        if self._w is not None and config_json is not None:
            self._w.control.submit(UpdateConfig(config_json))

    def _on_output(self, record: pb.Record) -> None:
        if self._w is not None:
            o = record.output
            self._w.poster.add_output(o.line, o.stderr, o.timestamp, record.num,
                                      self._line_start(o))

    def _on_alert(self, record: pb.Record) -> None:
        if self._w is not None and not self._replay:
            alert = pb.AlertRecord()
            alert.CopyFrom(record.alert)
            self._w.control.submit(SendAlert(alert))

    def _on_stats(self, record: pb.Record) -> None:
        if self._w is not None and record.stats.row_json:
            self._w.poster.add_event(record.stats.row_json, record.num,
                                     self._line_start(record.stats))

    def _on_files(self, record: pb.Record) -> None:
        if self._w is None:
            return
        now: list[pb.FileItem] = []
        for item in record.files.files:
            if item.policy == "end":
                self._end_files[item.name or item.path] = item
            else:
                now.append(item)
        if now:
            self._w.pusher.push(now)

    def _hand_end_files(self) -> None:
        if self._w is not None and self._end_files:
            items = list(self._end_files.values())
            self._end_files.clear()
            self._w.pusher.push(items)

    def _on_exit(self, record: pb.Record) -> None:
        self._exit = pb.ExitRecord()
        self._exit.CopyFrom(record.exit)

    # ------------------------------------------------------------------ requests
    def _on_request(self, record: pb.Record) -> None:
        route = self.REQUESTS.get(record.request.WhichOneof("request_type"))
        if route is None:
            raise UnknownRecord("a request with no kind set")
        route(self, record)

    def poll_exit_response(self) -> pb.PollExitResponse:
        r = pb.PollExitResponse()
        w = self._w
        if w is None:
            r.done = True
        else:
            fs_acked, fs_total, pending_lines = w.poster.counters()
            fp_up, fp_total, files_up, files_total = w.pusher.counters()
            r.uploaded_bytes = fs_acked + fp_up
            r.total_bytes = fs_total + fp_total
            r.pending_lines = pending_lines
            r.file_counts.uploaded_files = files_up
            r.file_counts.total_files = files_total
            r.done = self._fs_flushed.is_set() and self._fp_joined.is_set()
            r.not_stored, r.not_stored_reason = self.not_stored()
        if self._exit is not None:
            r.exit_result.CopyFrom(self._exit)
        return r

    def _on_poll_exit(self, record: pb.Record) -> None:
        self._answer(record.control.mailbox_slot,
                     pb.Result(poll_exit=self.poll_exit_response()))

    def _on_network_status(self, record: pb.Record) -> None:
        r = pb.NetworkStatusResponse()
        w = self._w
        if w is None:
            r.state = "offline"
        else:
            s = w.transport.status
            s.set_pending_bytes(w.poster.held_bytes + w.pusher.pending_bytes)
            snap = s.snapshot()
            r.state = snap["state"]
            r.last_status_code = snap["status_code"]
            r.retry_count = snap["retry_count"]
            r.last_error = snap["error"]
            r.since = snap["since"]
            r.pending_bytes = snap["pending_bytes"]
        self._answer(record.control.mailbox_slot, pb.Result(network_status=r))

    def _on_defer(self, record: pb.Record) -> None:
        state = record.request.defer.state
        slot = record.control.mailbox_slot

        def answer() -> None:
            self._answer(slot, pb.Result(defer=pb.DeferResponse(state=state)))

        w = self._w
        if state in _IMMEDIATE_DEFER:
            if state == D.FLUSH_DEBOUNCER and self._config.pending:
                self._push_config()
            elif state == D.FLUSH_FP:
                self._hand_end_files()
            answer()
        elif state == D.JOIN_FP:
            def joined() -> None:
                self._fp_joined.set()
                answer()

            if w is None:
                joined()
            else:
                w.pusher.join_marker(joined)
        elif state == D.FLUSH_FS:
            def flushed() -> None:
                self._fs_flushed.set()
                answer()

            if w is None:
                flushed()
                return
            if self._config.pending:
                self._push_config()
            exit_code = None if self._exit is None else int(self._exit.exit_code)
            complete = exit_code is not None or not self._replay
            w.control.submit(FinishRun(exit_code, complete, flushed))
        # FLUSH_FINAL (writer) and END (handler) are not the sender's to answer

    def _handler_only(self, record: pb.Record) -> None:
        raise UnknownRecord(f"{describe(record)} is answered by the handler, never sent on")

    def _not_sent(self, record: pb.Record) -> None:
        """Telemetry and the final marker: kept in the log, nothing to send for them."""

    ROUTES = routes(pb.Record, "record_type", {
        "run": _on_run,
        "history": _on_history,
        "summary": _on_summary,
        "config": _on_config,
        "metric": _on_metric,
        "output": _on_output,
        "stats": _on_stats,
        "telemetry": _not_sent,
        "files": _on_files,
        "exit": _on_exit,
        "final": _not_sent,
        "request": _on_request,
        "alert": _on_alert,
    })

    REQUESTS = routes(pb.Request, "request_type", {
        "run_start": _handler_only,
        "poll_exit": _on_poll_exit,
        "defer": _on_defer,
        "get_summary": _handler_only,
        "sampled_history": _handler_only,
        "network_status": _on_network_status,
        "flush": _handler_only,
    })

"""The Sender stage: routes records to the network workers; never blocks on the network.

The sender thread takes batches from its queue and dispatches each record through
explicit tables. Per history row it does almost nothing (the row strings are
appended to the file-stream worker's pending list); network I/O happens in two
workers:

- :class:`nbtrack.pipeline.sender.filestream.FileStream` — run upserts (with the resume query),
  debounced config upserts and ``file_stream`` posts, in order;
- :class:`nbtrack.pipeline.sender.filepusher.FilePusher` — ``createRunFiles`` + PUT uploads.

Requests are answered at once from counters (``poll_exit``, ``network_status``,
``stop_status``), or asynchronously by a worker when they must wait (the run
upsert, ``JOIN_FP``, ``FLUSH_FS``), so the sender thread keeps answering
``poll_exit`` meanwhile.

``nbtrack sync`` drives a Sender without its thread: ``handle(record)`` for each
record of a transaction log, then ``flush_all(timeout)``.

With ``transport=None`` (offline) every request is answered at once, nothing is
sent and ``poll_exit`` says done.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack.client import gql
from nbtrack.client.transport import Transport
from nbtrack.pipeline.queues import END, ByteQueue
from nbtrack.pipeline.sender.filepusher import FilePusher
from nbtrack.pipeline.sender.filestream import FileStream
from nbtrack.pipeline.sender.filestream_wire import (
    AlertJob,
    ConfigJob,
    FlushJob,
    OffsetsJob,
    RunIdentity,
    RunJob,
    StopJob,
)
from nbtrack.proto import nbtrack_pb2 as pb

log = logging.getLogger("nbtrack.pipeline.sender.stage")

Respond = Callable[[pb.Result], None]

D = pb.DeferRequest
# defer states the sender answers at once (after doing their small work)
_IMMEDIATE_DEFER = {
    D.BEGIN,
    D.FLUSH_RUN,
    D.FLUSH_STATS,
    D.FLUSH_PARTIAL_HISTORY,
    D.FLUSH_SUM,
    D.FLUSH_DEBOUNCER,
    D.FLUSH_OUTPUT,
    D.FLUSH_DIR,
    D.FLUSH_FP,
}


class Sender:
    def __init__(
        self,
        inq: ByteQueue,
        respond: Respond,
        transport: Transport | None,
        *,
        replay: bool = False,
        post_interval: float = 1.0,
        config_debounce: float = 1.0,
        max_pending_bytes: int = 16 << 20,
        max_post_bytes: int = 4 << 20,
        heartbeat_interval: float = 15.0,
        log_path: Path | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        if os.environ.get("NBTRACK_MAX_PENDING_MB"):
            max_pending_bytes = int(_env_float("NBTRACK_MAX_PENDING_MB", 16.0) * (1 << 20))
        self._inq = inq
        self._stop_event = stop_event if stop_event is not None else threading.Event()
        self._respond = respond
        self._t = transport
        self._replay = replay
        self.config_debounce = config_debounce
        self._thread: threading.Thread | None = None
        self._workers_started = False
        self._fs: FileStream | None = None
        self._fp: FilePusher | None = None
        if transport is not None:
            self._fs = FileStream(
                transport,
                replay=replay,
                post_interval=post_interval,
                max_post_bytes=max_post_bytes,
                max_pending_bytes=max_pending_bytes,
                heartbeat_interval=heartbeat_interval,
                on_run_known=self._run_known,
                log_path=None if replay else log_path,
                stop_event=self._stop_event,
                stop_poll_interval=_env_float("NBTRACK_STOP_POLL_INTERVAL", 10.0),
            )
            self._fp = FilePusher(transport)
        # state kept by the sender thread
        self._run_config_json = ""
        self._config_json: str | None = None
        self._config_dirty_at: float | None = None
        self._metrics: dict[str, dict[str, Any]] = {}
        self._end_files: dict[str, pb.FileItem] = {}
        self._exit: pb.ExitRecord | None = None
        self._fs_flushed = threading.Event()
        self._fp_joined = threading.Event()
        self._ended = False

        self._records: dict[str, Callable[[pb.Record], None]] = {
            "run": self._on_run,
            "history": self._on_history,
            "summary": self._on_summary,
            "config": self._on_config,
            "metric": self._on_metric,
            "output": self._on_output,
            "stats": self._on_stats,
            "files": self._on_files,
            "exit": self._on_exit,
            "request": self._on_request,
            "telemetry": _ignore,
            "final": _ignore,
            "header": _ignore,
            "footer": _ignore,
            "alert": self._on_alert,
        }
        self._requests: dict[str, Callable[[pb.Record], None]] = {
            "poll_exit": self._on_poll_exit,
            "network_status": self._on_network_status,
            "stop_status": self._on_stop_status,
            "status_report": _ignore,
            "defer": self._on_defer,
        }

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        self._start_workers()
        self._thread = threading.Thread(target=self._loop, name="nbtrack-sender", daemon=True)
        self._thread.start()

    def _start_workers(self) -> None:
        if self._workers_started:
            return
        self._workers_started = True
        if self._fs is not None and self._fp is not None:
            self._fs.start()
            self._fp.start()

    def join(self, timeout: float) -> bool:
        """Wait for the thread and its workers; True when all ended within ``timeout``."""
        deadline = time.monotonic() + max(timeout, 0.0)
        ok = True
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
            ok = not self._thread.is_alive()
        if self._fs is not None and self._fp is not None:
            if not self._thread and not self._ended:
                self._ended = True
                self._stop_workers()
            ok = self._fs.join(max(0.0, deadline - time.monotonic())) and ok
            ok = self._fp.join(max(0.0, deadline - time.monotonic())) and ok
        if not ok:
            log.warning("sender: still busy after %.1f s (network?)", timeout)
        return ok

    def _loop(self) -> None:
        try:
            while True:
                wait = 1.0
                if self._config_dirty_at is not None:
                    wait = max(0.0, self._config_dirty_at + self.config_debounce - time.monotonic())
                batch = self._inq.get_batch(512, wait)
                for item in batch:
                    if item is END:
                        self._on_end()
                        return
                    self.handle(item)
                self._tick()
        except Exception:  # pragma: no cover - never raise out of the thread
            log.exception("sender thread crashed")
            self._on_end()

    def _on_end(self) -> None:
        if self._ended:
            return
        self._ended = True
        if self._config_dirty_at is not None:
            self._push_config()
        self._stop_workers()

    def _stop_workers(self) -> None:
        if self._fs is not None and self._fp is not None:
            self._fs.submit(StopJob())
            self._fp.stop()

    def _tick(self) -> None:
        if (
            self._config_dirty_at is not None
            and time.monotonic() - self._config_dirty_at >= self.config_debounce
        ):
            self._push_config()

    # ------------------------------------------------------------------ dispatch
    def handle(self, record: pb.Record) -> None:
        """Route one record (the sender thread, or ``nbtrack sync`` without a thread)."""
        if not self._workers_started:
            self._start_workers()
        try:
            kind = record.WhichOneof("record_type")
            fn = self._records.get(kind) if kind else None
            if fn is None:
                log.debug("sender: ignoring record of type %s", kind)
                return
            fn(record)
        except Exception:
            log.exception("sender: failed to handle a record")

    def _answer(self, record: pb.Record, result: pb.Result) -> None:
        result.mailbox_slot = record.control.mailbox_slot
        try:
            self._respond(result)
        except Exception:
            log.exception("sender: respond failed")

    def _on_run(self, record: pb.Record) -> None:
        run = record.run
        if run.config_json and not self._run_config_json:
            self._run_config_json = run.config_json
        slot = record.control.mailbox_slot
        if self._fs is None:
            if slot:
                r = pb.Result(run_result=pb.RunResult(run=run))
                self._answer(record, r)
            return
        if self._replay:
            self._fs.submit(
                RunJob(
                    run, self._run_responder(record) if slot else None, list(self._metrics.values())
                )
            )
            return
        if run.offsets_known:
            self._fs.submit(OffsetsJob(run))
            if slot:  # nothing to ask the server: answer with what we were given
                self._answer(record, pb.Result(run_result=pb.RunResult(run=run)))
            return
        self._fs.submit(
            RunJob(run, self._run_responder(record) if slot else None, list(self._metrics.values()))
        )

    def _run_responder(self, record: pb.Record) -> Callable[[pb.RunResult], None]:
        slot = record.control.mailbox_slot

        def respond(rr: pb.RunResult) -> None:
            try:
                self._respond(pb.Result(mailbox_slot=slot, run_result=rr))
            except Exception:
                log.exception("sender: respond failed")

        return respond

    def _run_known(self, ident: RunIdentity | None) -> None:
        if self._fp is not None:
            self._fp.set_run(ident)

    def _on_history(self, record: pb.Record) -> None:
        if self._fs is None:
            return
        rows = list(record.history.rows)
        self._fs.add_history(rows, sum(map(len, rows)), record.num)

    def _on_summary(self, record: pb.Record) -> None:
        if self._fs is not None and record.summary.full_json:
            self._fs.set_summary(record.summary.full_json)

    def _on_config(self, record: pb.Record) -> None:
        if record.config.full_json:
            self._config_json = record.config.full_json
            self._mark_config_dirty()

    def _on_metric(self, record: pb.Record) -> None:
        m = record.metric
        if m.name:
            self._metrics[m.name] = gql.metric_to_dict(m)
            self._mark_config_dirty()

    def _mark_config_dirty(self) -> None:
        if self._config_dirty_at is None:
            self._config_dirty_at = time.monotonic()

    def _push_config(self) -> None:
        self._config_dirty_at = None
        if self._fs is None:
            return
        raw = self._config_json if self._config_json is not None else self._run_config_json
        try:
            config = json.loads(raw) if raw else {}
        except ValueError:
            log.warning("sender: config is not valid JSON; not sent")
            return
        if not isinstance(config, dict):
            config = {}
        self._fs.submit(ConfigJob(gql.config_to_wandb(config, list(self._metrics.values()))))

    def _on_output(self, record: pb.Record) -> None:
        if self._fs is not None:
            o = record.output
            self._fs.add_output(o.line, o.stderr, o.timestamp, record.num)

    def _on_alert(self, record: pb.Record) -> None:
        if self._fs is not None and not self._replay:
            a = pb.AlertRecord()
            a.CopyFrom(record.alert)
            self._fs.submit(AlertJob(a))

    def _on_stats(self, record: pb.Record) -> None:
        if self._fs is not None and record.stats.row_json:
            self._fs.add_event(record.stats.row_json, record.num)

    def _on_files(self, record: pb.Record) -> None:
        if self._fp is None:
            return
        now: list[pb.FileItem] = []
        for item in record.files.files:
            if item.policy == "end":
                self._end_files[item.name or item.path] = item
            else:
                now.append(item)
        if now:
            self._fp.push(now)

    def _hand_end_files(self) -> None:
        if self._fp is not None and self._end_files:
            items = list(self._end_files.values())
            self._end_files.clear()
            self._fp.push(items)

    def _on_exit(self, record: pb.Record) -> None:
        self._exit = pb.ExitRecord()
        self._exit.CopyFrom(record.exit)

    # ------------------------------------------------------------------ requests
    def _on_request(self, record: pb.Record) -> None:
        kind = record.request.WhichOneof("request_type")
        fn = self._requests.get(kind) if kind else None
        if fn is None:
            log.debug("sender: ignoring request %s", kind)
            return
        fn(record)

    def poll_exit_response(self) -> pb.PollExitResponse:
        r = pb.PollExitResponse()
        if self._fs is None or self._fp is None:
            r.done = True
        else:
            fs_acked, fs_total, pending_lines = self._fs.counters()
            fp_up, fp_total, files_up, files_total = self._fp.counters()
            r.uploaded_bytes = fs_acked + fp_up
            r.total_bytes = fs_total + fp_total
            r.pending_lines = pending_lines
            r.file_counts.uploaded_files = files_up
            r.file_counts.total_files = files_total
            r.done = self._fs_flushed.is_set() and self._fp_joined.is_set()
        if self._exit is not None:
            r.exit_result.CopyFrom(self._exit)
        return r

    def _on_poll_exit(self, record: pb.Record) -> None:
        self._answer(record, pb.Result(poll_exit=self.poll_exit_response()))

    def _on_network_status(self, record: pb.Record) -> None:
        r = pb.NetworkStatusResponse()
        if self._t is None or self._fs is None or self._fp is None:
            r.state = "offline"
        else:
            s = self._t.status
            s.set_pending_bytes(self._fs.pending_bytes + self._fp.pending_bytes)
            snap = s.snapshot()
            r.state = snap["state"]
            r.last_status_code = snap["status_code"]
            r.retry_count = snap["retry_count"]
            r.last_error = snap["error"]
            r.since = snap["since"]
            r.pending_bytes = snap["pending_bytes"]
        self._answer(record, pb.Result(network_status=r))

    def _on_stop_status(self, record: pb.Record) -> None:
        stop = self._stop_event.is_set()
        self._answer(record, pb.Result(stop_status=pb.StopStatusResponse(run_should_stop=stop)))

    def _on_defer(self, record: pb.Record) -> None:
        state = record.request.defer.state
        slot = record.control.mailbox_slot

        def answer() -> None:
            try:
                self._respond(pb.Result(mailbox_slot=slot, defer=pb.DeferResponse(state=state)))
            except Exception:
                log.exception("sender: respond failed")

        if state in _IMMEDIATE_DEFER:
            if state == D.FLUSH_DEBOUNCER and self._config_dirty_at is not None:
                self._push_config()
            elif state == D.FLUSH_FP:
                self._hand_end_files()
            answer()
        elif state == D.JOIN_FP:
            if self._fp is None:
                self._fp_joined.set()
                answer()
                return

            def joined() -> None:
                self._fp_joined.set()
                answer()

            self._fp.join_marker(joined)
        elif state == D.FLUSH_FS:
            if self._fs is None:
                self._fs_flushed.set()
                answer()
                return

            def flushed() -> None:
                self._fs_flushed.set()
                answer()

            if self._config_dirty_at is not None:
                self._push_config()
            self._fs.submit(FlushJob(self._exit_code(), flushed))
        # FLUSH_FINAL (writer) and END (handler) are not the sender's to answer

    def _exit_code(self) -> int | None:
        return None if self._exit is None else int(self._exit.exit_code)

    # ------------------------------------------------------------------ sync
    def flush_all(self, timeout: float) -> bool:
        """Send everything handled so far, incl. the final ``complete`` and uploads.

        Returns True only when the server acknowledged everything in time. The
        workers are stopped afterwards; the Sender is done.
        """
        if self._fs is None or self._fp is None or self._t is None:
            return False
        deadline = time.monotonic() + max(timeout, 0.0)
        self._start_workers()
        if self._config_dirty_at is not None:
            self._push_config()
        self._hand_end_files()
        fp_done = threading.Event()
        fs_done = threading.Event()

        def joined() -> None:
            self._fp_joined.set()
            fp_done.set()

        def flushed() -> None:
            self._fs_flushed.set()
            fs_done.set()

        self._fp.join_marker(joined)
        self._fs.submit(FlushJob(self._exit_code(), flushed))
        ok = fp_done.wait(max(0.0, deadline - time.monotonic()))
        ok = fs_done.wait(max(0.0, deadline - time.monotonic())) and ok
        self._ended = True
        self._stop_workers()
        ok = self._fs.join(max(0.0, deadline - time.monotonic())) and ok
        ok = self._fp.join(max(0.0, deadline - time.monotonic())) and ok
        return ok and self._fs.ok and self._fp.ok and not self._t.closed


def _ignore(record: pb.Record) -> None:
    return None


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default

"""The file-stream worker: run upserts and ``file_stream`` posts, in order, in one thread.

The sender thread hands over lines with :meth:`FileStream.add_history` & co.
(cheap: a list append under a lock) and ordered jobs with :meth:`FileStream.submit`
(the run upsert, debounced config upserts, offsets, the final flush). The worker
takes jobs first, in order, and between jobs posts pending lines at most every
``post_interval`` seconds (at once when ``max_post_bytes`` are pending), at most
``max_post_bytes`` of lines per post, each file with its own line offset. An empty
post every ``heartbeat_interval`` seconds keeps the run alive on the server.

Retries happen inside the transport with the same body, so a re-sent chunk
carries the same offsets and the server stores each line once.

Memory (flow control): history rows not yet acknowledged are held in memory up
to ``max_pending_bytes``. Above it, when the run's transaction log is known
(``log_path``), rows are not kept: the worker remembers the record number from
which on it dropped them ("spilling") and reads them back from the log
(:class:`nbtrack.pipeline.sender.flowcontrol.LogTail`) as posts make room, so memory stays bounded
however long an outage lasts and ``log()`` never waits for the network. Without a
log (``nbtrack sync``) ``add_history`` blocks the sender thread instead.

Stop requests: every ``stop_poll_interval`` seconds the worker asks the server
whether the run should stop (W&B's ``RunStoppedStatus`` query) and sets
``stop_event`` when it should. Alerts are sent as ``notifyScriptableRunAlert``.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack.client import gql
from nbtrack.client.transport import Transport, TransportError
from nbtrack.pipeline.sender.filestream_wire import (
    EVENTS,
    HISTORY,
    OUTPUT,
    SUMMARY,
    AlertJob,
    ConfigJob,
    FlushJob,
    Job,
    OffsetsJob,
    RunIdentity,
    RunJob,
    StopJob,
    encode_post,
    error_code,
    error_info,
    output_line,
)
from nbtrack.pipeline.sender.flowcontrol import LogTail
from nbtrack.pipeline.stagethread import StageThread
from nbtrack.proto import nbtrack_pb2 as pb

log = logging.getLogger("nbtrack.pipeline.sender.stage")

class FileStream:
    """Owns the run on the server: its upserts and its file_stream offsets."""

    def __init__(
        self,
        transport: Transport,
        *,
        replay: bool = False,
        post_interval: float = 1.0,
        max_post_bytes: int = 4 << 20,
        max_pending_bytes: int = 16 << 20,
        heartbeat_interval: float = 15.0,
        on_run_known: Callable[[RunIdentity | None], None] | None = None,
        log_path: Path | None = None,
        stop_event: threading.Event | None = None,
        stop_poll_interval: float = 10.0,
    ) -> None:
        self._t = transport
        self._tail = LogTail(log_path) if log_path is not None else None
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.stop_poll_interval = stop_poll_interval
        self._last_stop_poll = 0.0
        self._stop_poll_ok = True
        # flow control (guarded by _cv): history records with num in
        # [_spill_from, _spill_upto] are not in memory but in the transaction log
        self._spill_from: int | None = None
        self._spill_upto = 0
        self._spilled_lines = 0
        self.spills = 0  # how many times spilling started
        self._replay = replay
        self.post_interval = post_interval
        self.max_post_bytes = max_post_bytes
        self.max_pending_bytes = max_pending_bytes
        self.heartbeat_interval = heartbeat_interval
        self._on_run_known = on_run_known

        self._cv = threading.Condition(threading.Lock())
        self._jobs: collections.deque[Job] = collections.deque()
        # pending (not yet taken into a post) lines
        self._hist: collections.deque[tuple[list[str], int]] = collections.deque()
        self._hist_bytes = 0
        self._events: list[str] = []
        self._output: list[str] = []
        self._summary: str | None = None
        # accounting (guarded by _cv)
        self._mem_bytes = 0  # pending + in flight, for backpressure
        self.total_bytes = 0  # bytes handed over to be posted
        self.acked_bytes = 0  # bytes the server acknowledged
        self.pending_lines = 0  # lines handed over and not yet acknowledged
        self.dropped_lines = 0  # lines the server refused for good
        self.posts = 0
        self._warned_full = False

        # worker state (worker thread only, except the flags read under _cv)
        self._run: pb.RunRecord | None = None
        self._ident: RunIdentity | None = None
        self._ready = False  # the run exists on the server: posting allowed
        self._failed = False  # the run could not be created: nothing will be posted
        self._offsets_set = False
        self._offsets = {HISTORY: 0, EVENTS: 0, OUTPUT: 0}
        self._completed = False
        self._final_acked = False
        self._viewer_entity: str | None = None
        self._last_post = 0.0
        self._thread = StageThread(self._loop, "nbtrack-filestream")
        self._stopped = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> bool:
        return self._thread.join(timeout)

    @property
    def ok(self) -> bool:
        """The run exists on the server, every line was accepted and the final post acked."""
        return self._ready and not self._failed and self.dropped_lines == 0 and self._final_acked

    @property
    def identity(self) -> RunIdentity | None:
        return self._ident

    # ------------------------------------------------------------------ sender thread side
    def submit(self, job: Job) -> None:
        with self._cv:
            self._jobs.append(job)
            self._cv.notify_all()

    def add_history(self, rows: list[str], nbytes: int, num: int = 0) -> None:
        """Queue rows (JSON strings) for ``wandb-history.jsonl``.

        Over budget, a record with a number (``num``) is left in the transaction log
        to be read back later; without one (or without a log) this blocks.
        """
        with self._cv:
            if self._spilled(num, len(rows), nbytes):
                return
            self._wait_for_room(nbytes)
            if not self._hist or self._hist_bytes + nbytes >= self.max_post_bytes:
                self._cv.notify_all()  # the worker may sleep until the next heartbeat
            self._hist.append((rows, nbytes))
            self._hist_bytes += nbytes
            self._mem_bytes += nbytes
            self.total_bytes += nbytes
            self.pending_lines += len(rows)

    def _spilled(self, num: int, nlines: int, nbytes: int) -> bool:
        """Leave a record's lines in the transaction log when over budget (called under _cv).

        Once spilling, every line record is left there until the worker caught up, so
        each file's lines stay in order.
        """
        if self._tail is None or num <= 0:
            return False
        if self._spill_from is None:
            if not (self._mem_bytes > 0 and self._mem_bytes + nbytes > self.max_pending_bytes):
                return False
            self._spill_from = num
            self.spills += 1
            log.info("file_stream: %d MiB not yet acknowledged; lines are read back from the "
                     "transaction log from record %d on", self.max_pending_bytes >> 20, num)
        self._spill_upto = max(self._spill_upto, num)
        self._spilled_lines += nlines
        self.total_bytes += nbytes
        self.pending_lines += nlines
        return True

    def add_event(self, line: str, num: int = 0) -> None:
        with self._cv:
            if self._spilled(num, 1, len(line)):
                return
            self._wait_for_room(len(line))
            self._events.append(line)
            self._account(len(line))

    def add_output(self, line: str, stderr: bool, timestamp: float, num: int = 0) -> None:
        text = output_line(line, stderr, timestamp)
        with self._cv:
            if self._spilled(num, 1, len(text)):
                return
            self._wait_for_room(len(text))
            self._output.append(text)
            self._account(len(text))

    def set_summary(self, full_json: str) -> None:
        """Replace the summary to post (the latest wins)."""
        with self._cv:
            if self._summary is not None:  # replaced before it was sent: not to be sent
                self.total_bytes -= len(self._summary)
                self._mem_bytes -= len(self._summary)
                self.pending_lines -= 1
            self._summary = full_json
            self._account(len(full_json))

    def _account(self, n: int) -> None:
        self._cv.notify_all()
        self._mem_bytes += n
        self.total_bytes += n
        self.pending_lines += 1

    def _wait_for_room(self, nbytes: int) -> None:
        if (
            self._mem_bytes > 0
            and self._mem_bytes + nbytes > self.max_pending_bytes
            and not self._warned_full
        ):
            self._warned_full = True
            log.warning(
                "file_stream: %d MiB of lines not yet acknowledged by the server; "
                "logging is slowed down until it catches up",
                self.max_pending_bytes >> 20,
            )
        while (
            self._mem_bytes > 0
            and self._mem_bytes + nbytes > self.max_pending_bytes
            and not self._failed
            and not self._t.closed
            and not self._stopped.is_set()
        ):
            self._cv.notify_all()
            self._cv.wait(0.25)

    def counters(self) -> tuple[int, int, int]:
        """(acked bytes, total bytes, pending lines)."""
        with self._cv:
            return self.acked_bytes, self.total_bytes, self.pending_lines

    @property
    def pending_bytes(self) -> int:
        return self._mem_bytes

    # ------------------------------------------------------------------ worker
    def _loop(self) -> None:
        try:
            while True:
                with self._cv:
                    job = self._jobs.popleft() if self._jobs else None
                    if job is None:
                        wait = self._next_wait()
                        if wait > 0:
                            self._cv.wait(wait)
                        job = self._jobs.popleft() if self._jobs else None
                if job is not None:
                    if isinstance(job, StopJob):
                        self._on_stop()
                        return
                    self._run_job(job)
                    continue
                if self._t.closed:
                    # nothing will be sent any more; still serve jobs (answers)
                    continue
                self._maybe_post()
                self._maybe_poll_stop()
        except Exception:  # pragma: no cover - the loop must never raise
            log.exception("file-stream worker crashed")
        finally:
            self._stopped.set()
            with self._cv:
                self._cv.notify_all()

    def _next_wait(self) -> float:
        """Seconds until there is something to post (called under _cv)."""
        if not self._ready or self._completed or self._t.closed:
            return 1.0
        if self._hist_bytes >= self.max_post_bytes or (
                self._spill_from is not None and not self._hist):
            return 0.0 if self._spill_from is None else 0.05
        now = time.monotonic()
        if self._has_pending():
            return max(0.0, self._last_post + self.post_interval - now)
        return max(0.0, min(1.0, self._last_post + self.heartbeat_interval - now))

    def _has_pending(self) -> bool:
        return bool(self._hist or self._events or self._output or self._summary is not None
                    or self._spill_from is not None)

    def _refill(self) -> None:
        """Read spilled line records back from the log while there is room (worker only)."""
        tail = self._tail
        if tail is None:
            return
        with self._cv:
            if self._spill_from is None:
                return
            lo, hi = self._spill_from, self._spill_upto
            room = min(self.max_pending_bytes // 2, 2 * self.max_post_bytes) - self._hist_bytes
        if room <= 0:
            return
        got: list[tuple[str, list[str], int]] = []
        last_num = lo - 1
        for rec, end in tail.records():
            if rec.num > hi:
                break  # not handed to the sender yet: read it again later if needed
            tail.offset = end
            if rec.num < lo:
                continue
            last_num = rec.num
            kind = rec.WhichOneof("record_type")
            if kind == "history":
                lines = list(rec.history.rows)
            elif kind == "stats" and rec.stats.row_json:
                lines = [rec.stats.row_json]
            elif kind == "output":
                o = rec.output
                lines = [output_line(o.line, o.stderr, o.timestamp)]
            else:
                lines = []
            if lines:
                nb = sum(map(len, lines))
                got.append((kind or "", lines, nb))
                room -= nb
            if rec.num == hi or room <= 0:
                break
        with self._cv:
            for kind, lines, nb in got:
                if kind == "history":
                    self._hist.append((lines, nb))
                    self._hist_bytes += nb
                elif kind == "stats":
                    self._events.extend(lines)
                else:
                    self._output.extend(lines)
                self._mem_bytes += nb
                self._spilled_lines -= len(lines)
            if last_num >= self._spill_upto:
                self._spill_from = None  # caught up: new rows are kept in memory again
                self._spilled_lines = 0
            elif got:
                self._spill_from = last_num + 1

    def _maybe_post(self) -> None:
        if not self._ready or self._completed:
            if self._failed:
                self._discard_pending("the run could not be created on the server")
            return
        now = time.monotonic()
        with self._cv:
            pending = self._has_pending()
            urgent = self._hist_bytes >= self.max_post_bytes
        if (pending and (urgent or now - self._last_post >= self.post_interval)) or (
            now - self._last_post >= self.heartbeat_interval
        ):
            self._post(final=False, exit_code=None)

    def _run_job(self, job: Job) -> None:
        try:
            if isinstance(job, RunJob):
                self._do_run(job)
            elif isinstance(job, ConfigJob):
                self._do_config(job)
            elif isinstance(job, OffsetsJob):
                self._do_offsets(job)
            elif isinstance(job, FlushJob):
                self._do_flush(job)
            elif isinstance(job, AlertJob):
                self._do_alert(job)
        except Exception:
            log.exception("file-stream job %s failed", type(job).__name__)
            if isinstance(job, FlushJob):
                job.done()

    # ------------------------------------------------------------------ run upsert
    def _entity_for(self, run: pb.RunRecord) -> str:
        if run.entity:
            return run.entity
        if self._viewer_entity is None:
            self._viewer_entity = gql.parse_viewer_entity(self._t.graphql(gql.VIEWER, {}))
        return self._viewer_entity

    def _do_run(self, job: RunJob) -> None:
        run = pb.RunRecord()
        run.CopyFrom(job.run)
        result = pb.RunResult()
        try:
            entity = self._entity_for(run)
            run.entity = entity
            config: dict[str, Any] = {}
            if run.config_json:
                try:
                    loaded = json.loads(run.config_json)
                    config = loaded if isinstance(loaded, dict) else {}
                except ValueError:
                    log.warning("run %s: config_json is not valid JSON; not sent", run.run_id)
            status: gql.ResumeStatus | None = None
            if not self._replay and not run.offsets_known:
                data = self._t.graphql(
                    gql.RUN_RESUME_STATUS,
                    {"project": run.project or None, "entity": entity or None, "name": run.run_id},
                )
                status = gql.parse_resume_status(data)
                err = self._resume_error(run, status)
                if err is not None:
                    result.error.CopyFrom(err)
                    result.run.CopyFrom(run)
                    self._set_failed(err.message)
                    if job.respond is not None:
                        job.respond(result)
                    return
            if status is not None:
                if status.summary:
                    run.summary_json = json.dumps(status.summary, default=str)
                merged = dict(status.config)
                merged.update(config)
                config = merged
                run.config_json = json.dumps(config, default=str)
            variables = gql.upsert_variables(
                run, entity, config_json=gql.config_to_wandb(config, job.metrics)
            )
            bucket = gql.parse_upsert(self._t.graphql(gql.UPSERT_BUCKET, variables))
        except TransportError as e:
            err = error_info(error_code(e), str(e))
            result.error.CopyFrom(err)
            result.run.CopyFrom(run)
            self._set_failed(str(e))
            if job.respond is not None:
                job.respond(result)
            return
        if bucket.entity:
            run.entity = bucket.entity
        if bucket.project:
            run.project = bucket.project
        if bucket.display_name and not run.display_name:
            run.display_name = bucket.display_name
        run.url = gql.run_url(self._t.base_url, run.entity, run.project, run.run_id)
        if not self._replay and not run.offsets_known:
            run.offsets_known = True
            if status is not None:
                run.resumed = True
                run.starting_step = status.starting_step
                run.history_line_offset = status.history_line_count
                run.events_line_offset = status.events_line_count
                run.output_line_offset = status.log_line_count
                run.runtime_offset = status.runtime_offset
            else:
                run.resumed = False
                run.starting_step = 0
                run.history_line_offset = run.events_line_offset = run.output_line_offset = 0
                run.runtime_offset = 0.0
        if run.offsets_known and not self._offsets_set:
            self._apply_offsets(run)
        self._run = run
        self._ident = RunIdentity(run.entity, run.project, run.run_id)
        with self._cv:
            self._ready = True
            self._last_post = time.monotonic()
        if self._on_run_known is not None:
            self._on_run_known(self._ident)
        result.run.CopyFrom(run)
        if job.respond is not None:
            job.respond(result)

    def _resume_error(
        self, run: pb.RunRecord, status: gql.ResumeStatus | None
    ) -> pb.ErrorInfo | None:
        where = f"{run.entity}/{run.project}/{run.run_id}".lstrip("/")
        if run.resume == "must" and status is None:
            return error_info(
                pb.ErrorInfo.NOT_FOUND,
                f"resume='must' but run {where} does not exist on the server",
            )
        if run.resume == "never" and status is not None:
            return error_info(
                pb.ErrorInfo.CONFLICT,
                f"resume='never' but run {where} already exists on the server",
            )
        if not run.resume and status is not None and status.history_line_count > 0:
            return error_info(
                pb.ErrorInfo.CONFLICT,
                f"run {where} already exists on the server with "
                f"{status.history_line_count} history rows; pass resume='allow' to continue it "
                "or choose another id",
            )
        return None

    def _set_failed(self, message: str) -> None:
        log.error("the run could not be created: %s", message)
        with self._cv:
            self._failed = True
            self._cv.notify_all()
        if self._on_run_known is not None:
            self._on_run_known(None)

    def _apply_offsets(self, run: pb.RunRecord) -> None:
        self._offsets[HISTORY] = int(run.history_line_offset)
        self._offsets[EVENTS] = int(run.events_line_offset)
        self._offsets[OUTPUT] = int(run.output_line_offset)
        self._offsets_set = True

    def _do_offsets(self, job: OffsetsJob) -> None:
        if self._offsets_set:
            return  # this worker already knows them (from its own resume query)
        self._apply_offsets(job.run)

    def _do_alert(self, job: AlertJob) -> None:
        if self._run is None or not self._ready:
            log.warning("alert %r not sent: the run is not on the server", job.alert.title)
            return
        a = job.alert
        try:
            self._t.graphql(gql.NOTIFY_ALERT, {
                "entityName": self._run.entity, "projectName": self._run.project,
                "runName": self._run.run_id, "title": a.title, "text": a.text,
                "severity": a.level or "INFO"})
        except TransportError as e:
            if not e.aborted:
                log.error("alert %r not accepted by the server: %s", a.title, e)

    def _maybe_poll_stop(self) -> None:
        """Ask the server whether the run should stop, every ``stop_poll_interval`` seconds."""
        if (not self._stop_poll_ok or self.stop_event.is_set() or not self._ready
                or self._completed or self._run is None or self.stop_poll_interval <= 0):
            return
        now = time.monotonic()
        if now - self._last_stop_poll < self.stop_poll_interval:
            return
        self._last_stop_poll = now
        try:
            data = self._t.graphql(gql.RUN_STOPPED_STATUS, {
                "projectName": self._run.project, "entityName": self._run.entity or None,
                "runId": self._run.run_id})
        except TransportError as e:
            if e.status is not None and 400 <= e.status < 500:
                self._stop_poll_ok = False  # a server without the query: stop asking
            return
        if gql.parse_stopped(data):
            log.info("the server asked run %s to stop", self._run.run_id)
            self.stop_event.set()

    def _do_config(self, job: ConfigJob) -> None:
        if self._run is None or not self._ready:
            log.debug("config upsert skipped: the run is not on the server")
            return
        variables = gql.upsert_variables(
            self._run, self._run.entity, config_json=job.config_json, full=False
        )
        try:
            self._t.graphql(gql.UPSERT_BUCKET, variables)
        except TransportError as e:
            if not e.aborted:
                log.error("config update not accepted by the server: %s", e)

    # ------------------------------------------------------------------ posting
    def _take(self) -> tuple[dict[str, Any], int, int]:
        """Take at most max_post_bytes of pending lines: (files dict, lines, bytes)."""
        files: dict[str, Any] = {}
        nlines = 0
        nbytes = 0
        budget = self.max_post_bytes
        if self._spill_from is not None and self._hist_bytes < self.max_post_bytes:
            self._refill()
        with self._cv:
            if self._hist:
                lines: list[str] = []
                while self._hist and budget > 0:
                    rows, nb = self._hist[0]
                    if nb <= budget:
                        self._hist.popleft()
                        lines.extend(rows)
                        budget -= nb
                        nbytes += nb
                        self._hist_bytes -= nb
                    else:
                        k = 0
                        used = 0
                        for r in rows:
                            if used + len(r) > budget and (k > 0 or lines):
                                break
                            used += len(r)
                            k += 1
                        lines.extend(rows[:k])
                        self._hist[0] = (rows[k:], nb - used)
                        if k == len(rows):
                            self._hist.popleft()
                        budget = 0
                        nbytes += used
                        self._hist_bytes -= used
                if lines:
                    files[HISTORY] = {"offset": self._offsets[HISTORY], "content": lines}
                    nlines += len(lines)
            for name, buf in ((EVENTS, self._events), (OUTPUT, self._output)):
                if buf and budget > 0:
                    k = 0
                    used = 0
                    for line in buf:
                        if used + len(line) > budget and k > 0:
                            break
                        used += len(line)
                        k += 1
                    files[name] = {"offset": self._offsets[name], "content": buf[:k]}
                    del buf[:k]
                    nlines += k
                    nbytes += used
                    budget -= used
            if self._summary is not None:
                files[SUMMARY] = {"offset": 0, "content": [self._summary]}
                nbytes += len(self._summary)
                nlines += 1
                self._summary = None
        return files, nlines, nbytes

    def _post(self, *, final: bool, exit_code: int | None) -> bool:
        """One post. Returns True when it was the final one and the server acked it."""
        assert self._ident is not None
        files, nlines, nbytes = self._take()
        with self._cv:
            last = final and not self._has_pending()
        body = encode_post(files, complete=last, exit_code=exit_code)
        ident = self._ident
        acked = False
        try:
            self._t.file_stream(ident.entity, ident.project, ident.run_id, body)
            acked = True
        except TransportError as e:
            if e.aborted:
                log.warning(
                    "file_stream: %d lines not sent (transport closed); they stay in the "
                    "transaction log for `nbtrack sync`",
                    nlines,
                )
            else:
                log.error(
                    "file_stream: the server refused %d lines for good (history offset %d): %s",
                    nlines,
                    self._offsets[HISTORY],
                    e,
                )
                self._t.status.add_dropped_lines(nlines, str(e))
        self._last_post = time.monotonic()
        with self._cv:
            self.posts += 1
            self._mem_bytes -= nbytes
            if acked:
                for name in (HISTORY, EVENTS, OUTPUT):
                    f = files.get(name)
                    if f is not None:
                        self._offsets[name] += len(f["content"])
                self.acked_bytes += nbytes
                self.pending_lines -= nlines
            elif not self._t.closed:
                self.dropped_lines += nlines
                self.pending_lines -= nlines
            self._cv.notify_all()
        if last and acked:
            self._final_acked = True
        return last

    def _discard_pending(self, why: str) -> None:
        with self._cv:
            n = sum(len(rows) for rows, _ in self._hist) + len(self._events) + len(self._output)
            n += 1 if self._summary is not None else 0
            if n == 0:
                return
            self._hist.clear()
            self._hist_bytes = 0
            self._events.clear()
            self._output.clear()
            self._summary = None
            self._mem_bytes = 0
            n += self._spilled_lines
            self._spill_from = None
            self._spilled_lines = 0
            self.dropped_lines += n
            self.pending_lines -= n
            self._cv.notify_all()
        log.error("file_stream: %d lines not sent: %s", n, why)
        self._t.status.add_dropped_lines(n, why)

    def _do_flush(self, job: FlushJob) -> None:
        try:
            if self._failed or not self._ready:
                if self._failed:
                    self._discard_pending("the run could not be created on the server")
                elif self._on_run_known is not None:
                    # final flush without a run: no run will come, files cannot wait for it
                    log.error("file_stream: final flush but the run was never created")
                    self._on_run_known(None)
                return
            if self._completed:
                return
            send_complete = job.exit_code is not None or not self._replay
            while not self._t.closed:
                if send_complete:
                    if self._post(final=True, exit_code=job.exit_code):
                        self._completed = True
                        break
                else:
                    with self._cv:
                        pending = self._has_pending()
                    if not pending:
                        break
                    self._post(final=False, exit_code=None)
            if not send_complete and not self._t.closed and self._run is not None:
                try:
                    self._t.graphql(
                        gql.UPSERT_BUCKET,
                        gql.upsert_variables(
                            self._run, self._run.entity, state="crashed", full=False
                        ),
                    )
                    self._completed = True
                    self._final_acked = True
                except TransportError as e:
                    if not e.aborted:
                        log.error("could not mark the run crashed: %s", e)
        finally:
            job.done()

    def _on_stop(self) -> None:
        """END without FLUSH_FS (detached): one last best-effort post of what is pending."""
        try:
            if self._ready and not self._completed and not self._t.closed:
                while True:
                    with self._cv:
                        pending = self._has_pending()
                    if not pending or self._t.closed:
                        break
                    self._post(final=False, exit_code=None)
        except Exception:  # pragma: no cover
            log.exception("file-stream: last post failed")

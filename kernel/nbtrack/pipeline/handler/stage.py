"""The Handler stage: one thread between the user's records and writer + sender.

It takes items from ``record_q`` in batches of up to 4096: ``run.log`` tuples go to
:class:`~nbtrack.pipeline.handler.rows.Rows` (step rules, each row serialized once) and
every queue batch's rows leave as ONE ``HistoryRecord`` (the same object to writer and
sender), folded once into the summary and the sampled history; any other record first
flushes the rows gathered so far, so order is preserved. It merges config, assigns
``num``, answers the requests it owns (:mod:`~nbtrack.pipeline.handler.answers`) and
routes the others (``docs/contracts.md``, "Finish: defer routing").

``ROUTES``, ``REQUESTS`` and ``DEFERS`` are built from the proto by
:mod:`nbtrack.pipeline.dispatch`: each kind has exactly one route; kinds only the handler
makes (``history``, ``final``) raise :class:`~nbtrack.pipeline.dispatch.UnknownRecord`.

The thread never raises out and never prints: each item is handled in its own ``try``;
failures are logged, counted in :attr:`Handler.errors`, and the loop goes on.
:meth:`Handler.handle` runs one item in the caller's thread with errors raised.
"""

from __future__ import annotations

import collections
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from nbtrack.pipeline.dispatch import UnknownRecord, describe, enum_routes, routes
from nbtrack.pipeline.handler import answers
from nbtrack.pipeline.handler.lines import LineCounter
from nbtrack.pipeline.handler.rows import Rows, dumps
from nbtrack.pipeline.handler.sampling import HistorySampler, numeric_columns
from nbtrack.pipeline.handler.summary import Summary
from nbtrack.pipeline.media.resolve import MediaResolver
from nbtrack.pipeline.queues import END
from nbtrack.pipeline.ringqueue import RingQueue
from nbtrack.pipeline.stagethread import StageThread, ThreadedStage
from nbtrack.proto import nbtrack_pb2 as pb

__all__ = ["BATCH_ITEMS", "Emit", "Handler", "Respond"]

Emit = Callable[[Any, int], None]  # (pb.Record | END, nbytes); END with nbytes 0
Respond = Callable[[pb.Result], None]

BATCH_ITEMS = 4096
_IDLE_WAIT = 0.05  # rows are queued without a wake-up: take them at least this often
_HISTORY_OVERHEAD = 64

_log = logging.getLogger("nbtrack.pipeline.handler.stage")

_D = pb.DeferRequest


class Handler(ThreadedStage):
    """The handler thread (``nbtrack-handler``); see the module docstring."""

    name = "handler"

    def __init__(
        self,
        inq: RingQueue,
        to_writer: Emit,
        to_sender: Emit,
        respond: Respond,
        warn: Callable[[str], None],
        *,
        summary_interval: float = 2.0,
        media: MediaResolver | None = None,
    ) -> None:
        self._inq = inq
        self._to_writer = to_writer
        self._to_sender = to_sender
        self._respond = respond
        self._warn = warn
        self.summary_interval = summary_interval
        self._thread = StageThread(self._run, "nbtrack-handler")

        self._media = media
        self.rows = Rows(self._say, media)
        self.lines = LineCounter()
        self.summary = Summary()
        self.sampler = HistorySampler()
        self._config: dict[str, Any] = {}
        self._num = 0
        self._last_summary_emit = time.monotonic()
        # the write-ahead ring: the seq of the item being handled, the open row's first
        # entry, the entry of the record being dispatched (see _watermark, docs/contracts.md)
        self._seq = 0
        self._pending: dict[str, Any] | None = None
        self._pending_from = 0
        self._entry = 0
        # what went wrong in the thread, by reason: "unknown" (UnknownRecord), "failed"
        # (an item raised), "emit" (handing a record on raised); each one is also logged
        self.errors: collections.Counter[str] = collections.Counter()

    # ------------------------------------------------------------ thread



    def left(self) -> str:
        n = len(self._inq)
        return f"{n} records not handled" if n else ""


    def _run(self) -> None:
        inq = self._inq
        while True:
            try:
                batch = inq.get_batch(BATCH_ITEMS, timeout=self._wait_time())
            except Exception:
                _log.exception("handler: taking items from %s failed", inq.name)
                time.sleep(0.05)
                continue
            try:
                if self.process(batch):
                    return
            except Exception:  # pragma: no cover - process already guards each item
                _log.exception("handler: batch failed")

    def _wait_time(self) -> float:
        if not self.summary.changed:
            return _IDLE_WAIT
        left = self.summary_interval - (time.monotonic() - self._last_summary_emit)
        return min(max(left, 0.01), _IDLE_WAIT)

    def process(self, batch: list[tuple[Any, int]]) -> bool:
        """Handle one batch of (item, ring seq) pairs, each guarded; True after END."""
        rows = self.rows
        log_call = rows.log
        for item, seq in batch:
            try:
                if type(item) is tuple:
                    self._seq = seq
                    log_call(*item)
                    pending = rows.pending_row
                    if pending is not self._pending:  # a new open row, or none
                        self._pending = pending
                        self._pending_from = seq if pending is not None else 0
                elif self.handle(item, seq):
                    return True
            except UnknownRecord as exc:
                self.errors["unknown"] += 1
                _log.error("handler: %s (%s): a publisher's bug, not handled",
                           exc, describe(item))
            except Exception:
                self.errors["failed"] += 1
                _log.exception("handler: failed to handle %s", describe(item))
        try:
            self._flush_rows()
            self._maybe_emit_summary()
        except Exception:
            self.errors["failed"] += 1
            _log.exception("handler: failed to flush a batch")
        return False

    def handle(self, item: Any, seq: int = 0) -> bool:
        """Handle one item, errors raised (tests call it without the thread); True after END.

        ``seq`` is the item's write-ahead ring entry (0: none, e.g. a request).
        """
        if type(item) is tuple:
            self.rows.log(*item)
        elif item is END:
            self._on_end()
            return True
        else:
            self._flush_rows()  # the rows logged before this record go first
            if seq:
                self._seq = seq
            self._entry = seq
            try:
                self._dispatch(item)
            finally:
                self._entry = 0
        return False

    def _watermark(self) -> int:
        """The ring seq up to which every entry is in a record emitted so far: the open
        ``commit=False`` row (and the calls merged into it) is not, until it commits."""
        if self._pending_from:
            return min(self._seq, self._pending_from - 1)
        return self._seq

    # ------------------------------------------------------------ emitting

    def _emit(self, to: Emit, record: Any, nbytes: int) -> None:
        try:
            to(record, nbytes)
        except Exception:
            self.errors["emit"] += 1
            _log.exception("handler: emit to %s failed for %s",
                           "writer" if to is self._to_writer else "sender", describe(record))

    def _to_log(self, record: pb.Record, nbytes: int, *, own: bool = False) -> None:
        """To the writer, stamped with what of the write-ahead ring it makes durable
        (``own``: the record is the ring entry being dispatched, forwarded)."""
        record.ring_seq = self._watermark()
        if own and self._entry:
            record.ring_entry = self._entry
        self._emit(self._to_writer, record, nbytes)

    def _emit_both(self, record: pb.Record, nbytes: int | None = None, *,
                   own: bool = False) -> None:
        if nbytes is None:
            nbytes = record.ByteSize()
        self._to_log(record, nbytes, own=own)
        self._emit(self._to_sender, record, nbytes)

    def _next_num(self) -> int:
        self._num += 1
        return self._num

    def _answer(self, result: pb.Result) -> None:
        try:
            self._respond(result)
        except Exception:
            self.errors["emit"] += 1
            _log.exception("handler: respond failed for slot %s", result.mailbox_slot)

    def _say(self, message: str) -> None:
        try:
            self._warn(message)
        except Exception:
            _log.exception("handler: warn callback failed")

    def _flush_rows(self) -> None:
        """Emit the committed rows as one HistoryRecord; fold them into summary and sampler."""
        batch = self.rows.take()
        if batch is None:
            return
        if self._media is not None:
            self._emit_media_files(self._media.take_files())
        record = pb.Record(num=self._next_num())
        history = record.history
        history.rows.extend(batch.texts)  # ~5x cheaper than HistoryRecord(rows=texts)
        history.first_step = batch.steps[0]
        history.last_step = batch.steps[-1]
        self.lines.stamp(record)
        try:
            text: set[str] = set()
            keys, columns = numeric_columns(batch.steps, batch.rows, text=text)
            for key in self.sampler.mixed(text, columns):
                self._say(f"key {key!r} holds numbers and text: charts show the numbers")
            self.summary.update_batch(batch.rows, keys, columns)
            self.sampler.add_columns(columns)
        except Exception:
            self.errors["failed"] += 1
            _log.exception("handler: summary / sampling of %d rows failed", len(batch.rows))
        self._emit_both(record, batch.nbytes + _HISTORY_OVERHEAD)

    def _emit_media_files(self, files: list[pb.FileItem]) -> None:
        """The batch's media files, before its rows: a replay of the log uploads them.
        No ring watermark (``ring_seq`` 0): the rows they belong to are not written yet."""
        if not files:
            return
        record = pb.Record(num=self._next_num())
        record.files.files.extend(files)
        nbytes = record.ByteSize()
        self._emit(self._to_writer, record, nbytes)
        self._emit(self._to_sender, record, nbytes)

    def _emit_summary(self) -> None:
        self._last_summary_emit = time.monotonic()
        self.summary.changed = False
        summary = pb.SummaryRecord(full_json=self.summary.to_json())
        self._emit_both(pb.Record(num=self._next_num(), summary=summary))

    def _maybe_emit_summary(self) -> None:
        if (
            self.summary.changed
            and time.monotonic() - self._last_summary_emit >= self.summary_interval
        ):
            self._emit_summary()

    def _on_end(self) -> None:
        try:
            self.rows.commit_pending()
            self._flush_rows()
            if self.summary.changed:
                self._emit_summary()
        except Exception:
            self.errors["failed"] += 1
            _log.exception("handler: final flush failed")
        self._emit(self._to_writer, END, 0)
        self._emit(self._to_sender, END, 0)

    # ------------------------------------------------------------ records

    def _dispatch(self, record: Any) -> None:
        if not isinstance(record, pb.Record):
            raise UnknownRecord(f"an item of type {type(record).__name__} on record_q")
        route = self.ROUTES.get(record.WhichOneof("record_type"))
        if route is None:
            raise UnknownRecord("a record with no kind set")
        route(self, record)

    def _forward_both(self, record: pb.Record) -> None:
        if not record.control.local:
            record.num = self._next_num()
        self._emit_both(record, own=True)

    def _forward_lines(self, record: pb.Record) -> None:
        """Output and stats: numbered by line too (see ``lines.py``)."""
        self.lines.stamp(record)
        self._forward_both(record)

    def _made_here(self, record: pb.Record) -> None:
        raise UnknownRecord(
            f"a {record.WhichOneof('record_type')} record: only the handler makes those")

    def _on_run(self, record: pb.Record) -> None:
        run = record.run
        self.rows.start(run.start_time, run.runtime_offset, from_run=True)
        self.lines.start_at(run)
        if run.config_json:
            try:
                seed = json.loads(run.config_json)
            except ValueError:
                _log.warning("handler: run config_json is not JSON; ignored")
                seed = None
            if isinstance(seed, dict):
                self._config.update(seed)
        self._forward_both(record)

    def _on_config(self, record: pb.Record) -> None:
        cfg = record.config
        if cfg.update_json:
            update = json.loads(cfg.update_json)
            if not isinstance(update, dict):
                raise ValueError("ConfigRecord.update_json is not a JSON object")
            self._config.update(update)
        for key in cfg.remove:
            self._config.pop(key, None)
        cfg.full_json = dumps(self._config)
        self._forward_both(record)

    def _on_summary(self, record: pb.Record) -> None:
        s = record.summary
        update = json.loads(s.update_json) if s.update_json else None
        if update is not None and not isinstance(update, dict):
            raise ValueError("SummaryRecord.update_json is not a JSON object")
        self.summary.update_user(update, list(s.remove))
        # the user's update itself goes into the log, so it is durable now rather than
        # at the next summary record (the sender only reads full summaries)
        record.num = self._next_num()
        self._to_log(record, record.ByteSize(), own=True)
        self._maybe_emit_summary()

    def _on_metric(self, record: pb.Record) -> None:
        m = record.metric
        for problem in self.summary.define_metric(
            m.name, list(m.summary), m.goal, m.step_metric, m.hidden
        ):
            self._say(problem)
        self._forward_both(record)

    def _on_exit(self, record: pb.Record) -> None:
        start = self.rows.start_time
        if not record.exit.runtime and start is not None:
            record.exit.runtime = max(time.time() - start + self.rows.runtime_offset, 0.0)
        self._forward_both(record)

    def _on_request(self, record: pb.Record) -> None:
        route = self.REQUESTS.get(record.request.WhichOneof("request_type"))
        if route is None:
            raise UnknownRecord("a request with no kind set")
        route(self, record)

    ROUTES = routes(pb.Record, "record_type", {
        "run": _on_run,
        "history": _made_here,
        "summary": _on_summary,
        "config": _on_config,
        "metric": _on_metric,
        "output": _forward_lines,
        "stats": _forward_lines,
        "telemetry": _forward_both,
        "files": _forward_both,
        "exit": _on_exit,
        "final": _made_here,
        "request": _on_request,
        "alert": _forward_both,
    })

    # ------------------------------------------------------------ requests

    def _to_sender_only(self, record: pb.Record) -> None:
        self._emit(self._to_sender, record, record.ByteSize())

    def _on_run_start(self, record: pb.Record) -> None:
        run = record.request.run_start.run
        self.rows.resume_at(run.starting_step)
        self.rows.start(run.start_time, run.runtime_offset, from_run=False)
        if run.summary_json:
            answers.seed_summary(self.summary, run.summary_json)
        self._answer(answers.done(record))

    def _on_get_summary(self, record: pb.Record) -> None:
        self._answer(answers.summary(record, self.summary))

    def _on_sampled_history(self, record: pb.Record) -> None:
        self._answer(answers.sampled_history(record, self.sampler, self.rows))

    def _on_flush(self, record: pb.Record) -> None:
        # the rows were flushed before dispatch: everything published before is handed on
        self._answer(answers.flushed(record, self.rows.step))

    def _on_defer(self, record: pb.Record) -> None:
        route = self.DEFERS.get(record.request.defer.state)
        if route is None:
            raise UnknownRecord(f"defer state {record.request.defer.state} is not in the proto")
        route(self, record)

    REQUESTS = routes(pb.Request, "request_type", {
        "run_start": _on_run_start,
        "poll_exit": _to_sender_only,
        "defer": _on_defer,
        "get_summary": _on_get_summary,
        "sampled_history": _on_sampled_history,
        "network_status": _to_sender_only,
        "flush": _on_flush,
    })

    # ------------------------------------------------------------ finish (defer states)

    def _defer_partial_history(self, record: pb.Record) -> None:
        self.rows.commit_pending()
        self._flush_rows()
        self._to_sender_only(record)

    def _defer_summary(self, record: pb.Record) -> None:
        self._emit_summary()
        self._to_sender_only(record)

    def _defer_final(self, record: pb.Record) -> None:
        self._emit_both(pb.Record(num=self._next_num(), final=pb.FinalRecord()))
        self._to_log(record, record.ByteSize())  # the writer answers, after fsync

    def _defer_end(self, record: pb.Record) -> None:
        self._answer(answers.defer_done(record))

    DEFERS = enum_routes(_D.DeferState, {
        _D.BEGIN: _to_sender_only,
        _D.FLUSH_RUN: _to_sender_only,
        _D.FLUSH_STATS: _to_sender_only,
        _D.FLUSH_PARTIAL_HISTORY: _defer_partial_history,
        _D.FLUSH_SUM: _defer_summary,
        _D.FLUSH_DEBOUNCER: _to_sender_only,
        _D.FLUSH_OUTPUT: _to_sender_only,
        _D.FLUSH_DIR: _to_sender_only,
        _D.FLUSH_FP: _to_sender_only,
        _D.JOIN_FP: _to_sender_only,
        _D.FLUSH_FS: _to_sender_only,
        _D.FLUSH_FINAL: _defer_final,
        _D.END: _defer_end,
    })

    # ------------------------------------------------------------ recovery

    def restore(self, record: pb.Record) -> None:
        """Take the state a record of an existing log implies, emitting nothing: recovery
        (:mod:`nbtrack.pipeline.recovery`) replays a log through this before the ring
        entries that did not reach it, so those continue its steps, summary and config."""
        self._num = max(self._num, record.num)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            self.rows.start(run.start_time, run.runtime_offset, from_run=True)
            self.rows.resume_at(run.starting_step)
            if run.summary_json:
                answers.seed_summary(self.summary, run.summary_json)
            if run.config_json and not self._config:
                seed = json.loads(run.config_json)
                if isinstance(seed, dict):
                    self._config.update(seed)
        elif kind == "history":
            rows = [json.loads(text) for text in record.history.rows]
            if rows:
                self.rows.resume_at(int(rows[-1].get("_step", -1)) + 1)
                self.summary.update_batch(rows)
        elif kind == "summary" and record.summary.update_json:
            update = json.loads(record.summary.update_json)
            self.summary.update_user(update if isinstance(update, dict) else None,
                                     list(record.summary.remove))
        elif kind == "config" and record.config.full_json:
            full = json.loads(record.config.full_json)
            if isinstance(full, dict):
                self._config = full
        elif kind == "metric":
            m = record.metric
            self.summary.define_metric(m.name, list(m.summary), m.goal, m.step_metric,
                                       m.hidden)

    # ------------------------------------------------------------ introspection

    @property
    def step(self) -> int:
        """The step the next committed row gets."""
        return self.rows.step

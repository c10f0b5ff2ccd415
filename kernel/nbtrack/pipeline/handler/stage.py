"""The Handler stage: one thread between the user's records and writer + sender.

It takes items from ``record_q`` in batches of up to 4096 and:

- turns ``run.log`` tuples into committed history rows (``_step``, ``_runtime``,
  ``_timestamp``), serializes each row once with ``json.dumps`` and emits every
  queue batch's rows as ONE ``HistoryRecord`` (the same object to writer and
  sender); any other record first flushes the rows gathered so far, so order
  is preserved;
- keeps the summary (:mod:`nbtrack.pipeline.handler.summary`) and the sampled history
  (:mod:`nbtrack.pipeline.handler.sampling`), both updated once per flushed batch;
- merges config, remembers the run's start time, assigns ``num``;
- answers ``run_start``, ``get_summary``, ``sampled_history``, ``flush`` and
  ``defer(END)`` itself and routes every other request (see ``docs/contracts.md``,
  "Finish: defer routing").

Step rules: ``log(data)`` commits a row at the current step, then the step
advances; ``commit=False`` merges into a pending row at the current step; an
explicit higher step commits the pending row first; an explicit lower step is
refused through ``warn`` and nothing of that call is logged.

The thread never raises out and never prints: every item is handled inside its
own ``try``; failures (including a failing emit, e.g. ``QueueClosed``) are
logged on ``logging.getLogger("nbtrack.pipeline.handler.stage")`` and the loop goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from nbtrack.pipeline.handler.sampling import HistorySampler, numeric_columns
from nbtrack.pipeline.handler.summary import Summary
from nbtrack.pipeline.queues import END, ByteQueue
from nbtrack.pipeline.stagethread import StageThread
from nbtrack.proto import nbtrack_pb2 as pb

__all__ = ["BATCH_ITEMS", "Emit", "Handler", "Respond"]

Emit = Callable[[Any, int], None]  # (pb.Record | END, nbytes); END with nbytes 0
Respond = Callable[[pb.Result], None]

BATCH_ITEMS = 4096
_IDLE_WAIT = 0.05  # rows are queued without a wake-up: take them at least this often
_HISTORY_OVERHEAD = 64

_log = logging.getLogger("nbtrack.pipeline.handler.stage")


def _make_dumps() -> Callable[[Any], str]:
    """``json.dumps`` with compact separators, NaN / Infinity allowed, unknown objects as str.

    The C encoder is built once instead of on every call as ``json.dumps`` does
    (about 1 µs per row). No circular-reference check: rows are flat plain values.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(default=str, separators=(",", ":")).encode
    enc = make(None, str, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)
    join = "".join

    def dumps(obj: Any) -> str:
        return join(enc(obj, 0))

    return dumps


_dumps = _make_dumps()

_D = pb.DeferRequest


class Handler:
    """The handler thread (``nbtrack-handler``); see the module docstring."""

    def __init__(
        self,
        inq: ByteQueue,
        to_writer: Emit,
        to_sender: Emit,
        respond: Respond,
        warn: Callable[[str], None],
        *,
        summary_interval: float = 2.0,
    ) -> None:
        self._inq = inq
        self._to_writer = to_writer
        self._to_sender = to_sender
        self._respond = respond
        self._warn = warn
        self.summary_interval = summary_interval
        self._thread = StageThread(self._run, "nbtrack-handler")

        self.summary = Summary()
        self.sampler = HistorySampler()
        self._config: dict[str, Any] = {}

        # steps and rows
        self._step = 0  # the step the next committed row gets
        self._pending: dict[str, Any] | None = None  # commit=False row at self._step
        self._pending_ts = 0.0
        self._start_time: float | None = None
        self._start_from_run = False
        self._runtime_offset = 0.0
        self._rows: list[dict[str, Any]] = []
        self._row_json: list[str] = []
        self._row_steps: list[int] = []
        self._row_bytes = 0
        self._rows_total = 0
        self._last_step = -1

        self._num = 0
        self._last_summary_emit = time.monotonic()
        self._ended = False

        self._records: dict[str, Callable[[pb.Record], None]] = {
            "run": self._on_run,
            "history": self._forward_both,
            "summary": self._on_summary,
            "config": self._on_config,
            "metric": self._on_metric,
            "output": self._forward_both,
            "stats": self._forward_both,
            "telemetry": self._forward_both,
            "files": self._forward_both,
            "exit": self._on_exit,
            "final": self._forward_both,
            "request": self._on_request,
            "alert": self._forward_both,
        }
        self._requests: dict[str, Callable[[pb.Record], None]] = {
            "run_start": self._on_run_start,
            "poll_exit": self._request_to_sender,
            "defer": self._on_defer,
            "get_summary": self._on_get_summary,
            "sampled_history": self._on_sampled_history,
            "network_status": self._request_to_sender,
            "stop_status": self._request_to_sender,
            "flush": self._on_flush,
        }
        self._defers: dict[int, Callable[[pb.Record], None]] = {
            _D.BEGIN: self._request_to_sender,
            _D.FLUSH_RUN: self._request_to_sender,
            _D.FLUSH_STATS: self._request_to_sender,
            _D.FLUSH_PARTIAL_HISTORY: self._defer_partial_history,
            _D.FLUSH_SUM: self._defer_summary,
            _D.FLUSH_DEBOUNCER: self._request_to_sender,
            _D.FLUSH_OUTPUT: self._request_to_sender,
            _D.FLUSH_DIR: self._request_to_sender,
            _D.FLUSH_FP: self._request_to_sender,
            _D.JOIN_FP: self._request_to_sender,
            _D.FLUSH_FS: self._request_to_sender,
            _D.FLUSH_FINAL: self._defer_final,
            _D.END: self._defer_end,
        }

    # ------------------------------------------------------------ thread

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the thread to end; True when it has (or never started)."""
        return self._thread.join(timeout)

    @property
    def ended(self) -> bool:
        return self._ended

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

    def process(self, batch: list[Any]) -> bool:
        """Handle one batch of queue items in this thread; True after END."""
        log_call = self._log_call
        for item in batch:
            try:
                if type(item) is tuple:
                    log_call(*item)
                elif item is END:
                    self._on_end()
                    return True
                else:
                    self._flush_rows()
                    self._dispatch(item)
            except Exception:
                _log.exception("handler: failed to handle %s", _describe(item))
        try:
            self._flush_rows()
            self._maybe_emit_summary()
        except Exception:
            _log.exception("handler: failed to flush a batch")
        return False

    # ------------------------------------------------------------ emitting

    def _emit(self, to: Emit, record: Any, nbytes: int) -> None:
        try:
            to(record, nbytes)
        except Exception:
            _log.exception(
                "handler: emit to %s failed for %s",
                "writer" if to is self._to_writer else "sender",
                _describe(record),
            )

    def _emit_both(self, record: pb.Record, nbytes: int | None = None) -> None:
        if nbytes is None:
            nbytes = record.ByteSize()
        self._emit(self._to_writer, record, nbytes)
        self._emit(self._to_sender, record, nbytes)

    def _number(self, record: pb.Record) -> None:
        if not record.control.local:
            self._num += 1
            record.num = self._num

    def _answer(self, result: pb.Result) -> None:
        try:
            self._respond(result)
        except Exception:
            _log.exception("handler: respond failed for slot %s", result.mailbox_slot)

    def _say(self, message: str) -> None:
        try:
            self._warn(message)
        except Exception:
            _log.exception("handler: warn callback failed")

    # ------------------------------------------------------------ log rows

    def _log_call(
        self, data: dict[str, Any], step: int | None, commit: bool, timestamp: float
    ) -> None:
        if commit and step is None and self._pending is None:  # the common case
            cur = self._step
            self._step = cur + 1
            self._commit(data, cur, timestamp)
            return
        cur = self._step
        if step is not None and step != cur:
            if step < cur:
                keys = ", ".join(sorted(map(str, data))) or "no keys"
                self._say(
                    f"step {step} is lower than the current step {cur}: "
                    f"this log call ({keys}) was not logged; steps must increase"
                )
                return
            pending = self._pending
            if pending is not None:
                self._pending = None
                self._commit(pending, cur, self._pending_ts)
            self._step = cur = step
        pending = self._pending
        if pending is None:
            if commit:
                self._step = cur + 1
                self._commit(data, cur, timestamp)
            else:
                self._pending = dict(data)
                self._pending_ts = timestamp
            return
        pending.update(data)
        self._pending_ts = timestamp
        if commit:
            self._pending = None
            self._step = cur + 1
            self._commit(pending, cur, timestamp)

    def _commit(self, data: dict[str, Any], step: int, timestamp: float) -> None:
        start = self._start_time
        if start is None:
            start = self._start_time = timestamp
        row = {
            **data,
            "_step": step,
            "_runtime": timestamp - start + self._runtime_offset,
            "_timestamp": timestamp,
        }
        text = _dumps(row)
        self._rows.append(row)
        self._row_json.append(text)
        self._row_steps.append(step)
        self._row_bytes += len(text)

    def _commit_pending(self) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            cur = self._step
            self._step = cur + 1
            self._commit(pending, cur, self._pending_ts)

    def _flush_rows(self) -> None:
        """Emit the committed rows as one HistoryRecord; fold them into summary and sampler."""
        if not self._row_json:
            return
        rows, texts, steps, nbytes = self._rows, self._row_json, self._row_steps, self._row_bytes
        self._rows, self._row_json, self._row_steps, self._row_bytes = [], [], [], 0
        self._rows_total += len(texts)
        self._last_step = steps[-1]
        self._num += 1
        record = pb.Record(num=self._num)
        history = record.history
        history.rows.extend(texts)  # ~5x cheaper than HistoryRecord(rows=texts)
        history.first_step = steps[0]
        history.last_step = steps[-1]
        try:
            keys, columns = numeric_columns(steps, rows)
            self.summary.update_batch(rows, keys, columns)
            self.sampler.add_columns(columns)
        except Exception:
            _log.exception("handler: summary / sampling of %d rows failed", len(rows))
        self._emit_both(record, nbytes + _HISTORY_OVERHEAD)

    # ------------------------------------------------------------ summary

    def _emit_summary(self) -> None:
        self._last_summary_emit = time.monotonic()
        self.summary.changed = False
        self._num += 1
        record = pb.Record(
            num=self._num, summary=pb.SummaryRecord(full_json=self.summary.to_json())
        )
        self._emit_both(record)

    def _maybe_emit_summary(self) -> None:
        if (
            self.summary.changed
            and time.monotonic() - self._last_summary_emit >= self.summary_interval
        ):
            self._emit_summary()

    # ------------------------------------------------------------ dispatch

    def _dispatch(self, record: Any) -> None:
        if not isinstance(record, pb.Record):
            _log.warning("handler: ignoring an item of type %s", type(record).__name__)
            return
        kind = record.WhichOneof("record_type")
        fn = self._records.get(kind) if kind else None
        if fn is None:
            _log.warning("handler: ignoring a record without a known type (%s)", kind)
            return
        fn(record)

    def _forward_both(self, record: pb.Record) -> None:
        self._number(record)
        self._emit_both(record)

    def _on_run(self, record: pb.Record) -> None:
        run = record.run
        if run.start_time:
            self._start_time = run.start_time
            self._start_from_run = True
        if run.runtime_offset:
            self._runtime_offset = run.runtime_offset
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
        cfg.full_json = _dumps(self._config)
        self._forward_both(record)

    def _on_summary(self, record: pb.Record) -> None:
        s = record.summary
        update = json.loads(s.update_json) if s.update_json else None
        if update is not None and not isinstance(update, dict):
            raise ValueError("SummaryRecord.update_json is not a JSON object")
        self.summary.update_user(update, list(s.remove))
        self._maybe_emit_summary()

    def _on_metric(self, record: pb.Record) -> None:
        m = record.metric
        for problem in self.summary.define_metric(
            m.name, list(m.summary), m.goal, m.step_metric, m.hidden
        ):
            self._say(problem)
        self._forward_both(record)

    def _on_exit(self, record: pb.Record) -> None:
        if not record.exit.runtime and self._start_time is not None:
            record.exit.runtime = max(time.time() - self._start_time + self._runtime_offset, 0.0)
        self._forward_both(record)

    def _on_end(self) -> None:
        self._ended = True
        try:
            self._commit_pending()
            self._flush_rows()
            if self.summary.changed:
                self._emit_summary()
        except Exception:
            _log.exception("handler: final flush failed")
        self._emit(self._to_writer, END, 0)
        self._emit(self._to_sender, END, 0)

    # ------------------------------------------------------------ requests

    def _on_request(self, record: pb.Record) -> None:
        kind = record.request.WhichOneof("request_type")
        fn = self._requests.get(kind) if kind else None
        if fn is None:
            _log.warning("handler: unknown request %s answered empty", kind)
            self._answer(pb.Result(mailbox_slot=record.control.mailbox_slot))
            return
        fn(record)

    def _request_to_sender(self, record: pb.Record) -> None:
        self._emit(self._to_sender, record, record.ByteSize())

    def _on_run_start(self, record: pb.Record) -> None:
        run = record.request.run_start.run
        if run.starting_step > self._step:
            self._step = run.starting_step
        if run.runtime_offset:
            self._runtime_offset = run.runtime_offset
        if run.start_time and not self._start_from_run:
            self._start_time = run.start_time
            self._start_from_run = True
        if run.summary_json:
            self._seed_summary(run.summary_json)
        self._answer(pb.Result(mailbox_slot=record.control.mailbox_slot))

    def _seed_summary(self, summary_json: str) -> None:
        """A resumed run keeps its earlier summary until its keys are logged again."""
        try:
            earlier = json.loads(summary_json)
        except ValueError:
            _log.warning("handler: resumed summary is not JSON; ignored")
            return
        if isinstance(earlier, dict):
            self.summary.update_user({k: v for k, v in earlier.items() if not k.startswith("_")})

    def _on_get_summary(self, record: pb.Record) -> None:
        self._answer(
            pb.Result(
                mailbox_slot=record.control.mailbox_slot,
                get_summary=pb.GetSummaryResponse(summary_json=self.summary.to_json()),
            )
        )

    def _on_sampled_history(self, record: pb.Record) -> None:
        keys = list(record.request.sampled_history.keys)
        series = [
            pb.SampledSeries(
                key=s.key,
                steps=s.steps,
                values=s.values,
                min=s.min,
                max=s.max,
                last=s.last,
                count=s.count,
            )
            for s in self.sampler.snapshot(keys)
        ]
        last_step = self._last_step if self._rows_total else max(self._step - 1, 0)
        self._answer(
            pb.Result(
                mailbox_slot=record.control.mailbox_slot,
                sampled_history=pb.SampledHistoryResponse(
                    series=series, last_step=last_step, rows=self._rows_total
                ),
            )
        )

    def _on_flush(self, record: pb.Record) -> None:
        self._flush_rows()  # already flushed by the dispatch; kept explicit
        self._answer(pb.Result(mailbox_slot=record.control.mailbox_slot, flush=pb.FlushResponse()))

    def _on_defer(self, record: pb.Record) -> None:
        state = record.request.defer.state
        fn = self._defers.get(state)
        if fn is None:
            _log.warning("handler: unknown defer state %s answered by the handler", state)
            self._defer_end(record)
            return
        fn(record)

    def _defer_partial_history(self, record: pb.Record) -> None:
        self._commit_pending()
        self._flush_rows()
        self._request_to_sender(record)

    def _defer_summary(self, record: pb.Record) -> None:
        self._emit_summary()
        self._request_to_sender(record)

    def _defer_final(self, record: pb.Record) -> None:
        self._num += 1
        self._emit_both(pb.Record(num=self._num, final=pb.FinalRecord()))
        self._emit(self._to_writer, record, record.ByteSize())

    def _defer_end(self, record: pb.Record) -> None:
        self._answer(
            pb.Result(
                mailbox_slot=record.control.mailbox_slot,
                defer=pb.DeferResponse(state=record.request.defer.state),
            )
        )

    # ------------------------------------------------------------ introspection

    @property
    def step(self) -> int:
        """The step the next committed row gets."""
        return self._step

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._config)


def _describe(item: Any) -> str:
    if isinstance(item, pb.Record):
        kind = item.WhichOneof("record_type")
        if kind == "request":
            return f"request {item.request.WhichOneof('request_type')}"
        return f"record {kind}"
    if type(item) is tuple:
        return "log call"
    return type(item).__name__

"""Turning ``run.log`` calls into committed history rows: the step rules and the row text.

Why a class of its own: this is the handler's hot path (every ``log`` call passes
here) and its rules are the part users see; it needs no thread, no queue and no proto,
so it is tested and measured alone. The handler stage feeds it the log tuples and
takes the committed rows out once per queue batch (:meth:`Rows.take`).

Step rules: ``log(data)`` commits a row at the current step, then the step advances;
``commit=False`` merges into a pending row at the current step; an explicit higher
step commits the pending row first; an explicit lower step is refused through
``warn`` and nothing of that call is logged. Each committed row gets ``_step``,
``_runtime`` (seconds since the run's start plus the resumed runtime) and
``_timestamp`` (the call's time), and is serialized once.

One row never takes others down: the user side refuses what the wire cannot carry, but a
row that still cannot be encoded here (a step beyond ``MAX_STEP``, an int JSON cannot
write, from a publisher that skipped the checks) is refused alone through ``warn``, naming
its keys, and takes no step; the rows around it are committed as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbtrack.pipeline.media.jobs import MEDIA_FLAG
from nbtrack.pipeline.media.resolve import drop_media
from nbtrack.wire.limits import MAX_STEP

__all__ = ["Batch", "Rows", "dumps"]


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


dumps = _make_dumps()


@dataclass
class Batch:
    """Rows committed since the last :meth:`Rows.take`, in step order."""

    rows: list[dict[str, Any]]
    texts: list[str]  # each row serialized once, carried as is to writer and sender
    steps: list[int]
    nbytes: int  # sum of the texts' lengths


class Rows:
    """The step counter, the pending (``commit=False``) row and the committed rows."""

    def __init__(self, warn: Callable[[str], None],
                 media: Callable[[dict[str, Any], int], dict[str, Any]] | None = None) -> None:
        self._warn = warn
        # a row holding media markers becomes its W&B values here, when its step is known
        self._media = media or (lambda data, step: drop_media(data, step, warn))
        self._step = 0  # the step the next committed row gets
        self._pending: dict[str, Any] | None = None  # commit=False row at self._step
        self._pending_ts = 0.0
        self._start_time: float | None = None
        self._start_from_run = False
        self._runtime_offset = 0.0
        self._rows: list[dict[str, Any]] = []
        self._texts: list[str] = []
        self._steps: list[int] = []
        self._nbytes = 0
        self.rows_total = 0  # rows handed out by take()
        self.last_step = -1  # the step of the last row handed out

    # ------------------------------------------------------------ the run's clock

    @property
    def step(self) -> int:
        """The step the next committed row gets."""
        return self._step

    @property
    def pending_row(self) -> dict[str, Any] | None:
        """The open ``commit=False`` row (a new dict each time one opens), or None."""
        return self._pending

    @property
    def start_time(self) -> float | None:
        return self._start_time

    @property
    def runtime_offset(self) -> float:
        return self._runtime_offset

    def start(self, start_time: float, runtime_offset: float, *, from_run: bool) -> None:
        """Set the clock from the run record (``from_run``) or from ``run_start``.

        The run record's start time wins; ``run_start`` only fills it in when the run
        record had none. Zeros leave the current value.
        """
        if start_time and (from_run or not self._start_from_run):
            self._start_time = start_time
            self._start_from_run = True
        if runtime_offset:
            self._runtime_offset = runtime_offset

    def resume_at(self, step: int) -> None:
        """A resumed run continues after its last step on the server."""
        if step > self._step:
            self._step = step

    # ------------------------------------------------------------ log calls

    def log(self, data: dict[str, Any], step: int | None, commit: bool, timestamp: float) -> None:
        """One ``run.log`` call, already validated and flattened by the user side."""
        if commit and step is None and self._pending is None:  # the common case
            cur = self._step
            if self._commit(data, cur, timestamp):
                self._step = cur + 1
            return
        cur = self._step
        if step is not None and step != cur:
            if step > MAX_STEP:
                self._refuse(data, f"step {step} is beyond the largest step {MAX_STEP}")
                return
            if step < cur:
                keys = ", ".join(sorted(map(str, data))) or "no keys"
                self._warn(
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
                if self._commit(data, cur, timestamp):
                    self._step = cur + 1
            else:
                self._pending = dict(data)
                self._pending_ts = timestamp
            return
        pending.update(data)
        self._pending_ts = timestamp
        if commit:
            self._pending = None
            if self._commit(pending, cur, timestamp):
                self._step = cur + 1

    def _refuse(self, data: dict[str, Any], why: str) -> None:
        keys = ", ".join(sorted(map(str, data))) or "no keys"
        self._warn(f"{why}: this log call ({keys}) was not logged")

    def _commit(self, data: dict[str, Any], step: int, timestamp: float) -> bool:
        """Encode and keep the row; False (refused through ``warn``) when it cannot be."""
        start = self._start_time
        if start is None:
            start = self._start_time = timestamp
        if MEDIA_FLAG in data:
            data = self._media(data, step)
        row = {
            **data,
            "_step": step,
            "_runtime": timestamp - start + self._runtime_offset,
            "_timestamp": timestamp,
        }
        try:
            text = dumps(row)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            self._refuse(data, f"the row at step {step} cannot be encoded ({exc})")
            return False
        self._rows.append(row)
        self._texts.append(text)
        self._steps.append(step)
        self._nbytes += len(text)
        return True

    def commit_pending(self) -> None:
        """Commit the ``commit=False`` row, if any (finish, end of stream)."""
        pending = self._pending
        if pending is not None:
            self._pending = None
            cur = self._step
            if self._commit(pending, cur, self._pending_ts):
                self._step = cur + 1

    def take(self) -> Batch | None:
        """The rows committed since the last call, or None when there are none."""
        if not self._texts:
            return None
        batch = Batch(self._rows, self._texts, self._steps, self._nbytes)
        self._rows, self._texts, self._steps, self._nbytes = [], [], [], 0
        self.rows_total += len(batch.texts)
        self.last_step = batch.steps[-1]
        return batch

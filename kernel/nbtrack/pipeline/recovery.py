"""Completing a killed run's transaction log from its write-ahead ring.

A process killed mid-run leaves ``run-<id>.ring`` next to its log: every ``log()`` call
and data record it accepted is there, and the entries after the log's highest
``ring_seq`` (less those the log holds as ``ring_entry``) never reached the log. This
module replays the log through a fresh :class:`~nbtrack.pipeline.handler.stage.Handler`
(``restore``: steps, summary, config, numbers), then hands it those ring entries, and
appends what it emits to the log, cut after its last complete record. So the completed
log is what the live pipeline would have written, and ``nbtrack sync`` sends it like any
other. Run twice, the second finds nothing to add. The ring file is deleted once its
entries are all in the fsynced log.
"""

from __future__ import annotations

import logging
import marshal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.pipeline.handler.stage import Handler
from nbtrack.pipeline.queues import END
from nbtrack.pipeline.ringqueue import RingQueue
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import LogReader, LogWriter
from nbtrack.txlog.ring import KIND_ROW, RingEntry, read_ring, ring_in_use, ring_path_for

__all__ = ["Recovery", "complete_log"]

_log = logging.getLogger("nbtrack.pipeline.recovery")


@dataclass
class Recovery:
    """What :func:`complete_log` did; ``added`` ring entries went into the log."""

    ring: Path
    found: bool = False  # a ring file was there
    live: bool = False  # a live process holds it: left alone
    entries: int = 0  # entries the ring holds after its released point
    added: int = 0  # of those, appended to the log now
    rows: int = 0  # of those, log() calls
    stopped: str = ""  # why reading the ring stopped (see txlog.ring.RingReport)
    untrusted: bool = False  # written before the machine last started: not read
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.found:
            return ""
        if self.live:
            return f"{self.ring} is held by a running process: not recovered"
        if self.problems:
            return f"{self.ring}: " + "; ".join(self.problems)
        if self.untrusted:
            return (f"{self.ring} was written before the machine last started: not trusted "
                    "after a crash; the log up to its last fsync is what was kept")
        if not self.added:
            return f"{self.ring}: nothing missing from the log"
        return (f"recovered {self.added} entries ({self.rows} log() calls) from {self.ring} "
                "that had not reached the log")


@dataclass
class _LogState:
    records: list[pb.Record]
    max_seq: int
    entries: set[int]
    end: int  # the offset after the last complete record (a torn tail is cut there)


def _read_log(path: Path) -> _LogState:
    reader = LogReader(path)
    records: list[pb.Record] = []
    max_seq = 0
    entries: set[int] = set()
    for payload in reader:
        try:
            record = pb.Record.FromString(payload)
        except Exception:
            continue
        records.append(record)
        max_seq = max(max_seq, record.ring_seq)
        if record.ring_entry:
            entries.add(record.ring_entry)
    report = reader.report
    end = report.torn_offset if report.torn_offset is not None else report.bytes_read
    return _LogState(records, max_seq, entries, end)


def _item(entry: RingEntry) -> Any:
    if entry.kind == KIND_ROW:
        data, step, commit, ts = marshal.loads(entry.payload)
        return (data, step, commit, ts)
    return pb.Record.FromString(entry.payload)


def complete_log(log_path: Path) -> Recovery:
    """Append to ``log_path`` what its ring holds and the log does not; see the module."""
    ring_path = ring_path_for(log_path)
    result = Recovery(ring_path)
    if not ring_path.exists():
        return result
    result.found = True
    if ring_in_use(ring_path):
        result.live = True
        return result
    try:
        report, entries = read_ring(ring_path)
    except (OSError, ValueError) as exc:
        result.problems.append(f"unreadable ({exc})")
        return result
    result.entries, result.stopped = len(entries), report.stopped
    result.untrusted = not report.same_boot
    state = _read_log(log_path) if log_path.exists() else _LogState([], 0, set(), 0)
    todo = [e for e in entries if e.seq > state.max_seq and e.seq not in state.entries]
    if todo:
        batch: list[tuple[Any, int]] = []
        for entry in todo:
            try:
                batch.append((_item(entry), entry.seq))
            except Exception as exc:
                result.problems.append(f"entry {entry.seq} does not decode ({exc})")
        _append(log_path, state, batch, result)
        result.added = len(batch)
        result.rows = sum(1 for item, _ in batch if type(item) is tuple)
    if not result.problems:
        ring_path.unlink(missing_ok=True)
    return result


def _append(log_path: Path, state: _LogState, batch: list[tuple[Any, int]],
            result: Recovery) -> None:
    out: list[pb.Record] = []

    def to_log(record: Any, nbytes: int) -> None:
        if record is not END and not record.control.local:
            out.append(record)

    warnings: list[str] = []
    handler = Handler(RingQueue(None, 1 << 62), to_log, lambda r, n: None,
                      lambda r: None, warnings.append, summary_interval=0.0)
    for record in state.records:
        try:
            handler.restore(record)
        except Exception as exc:  # a record the handler cannot take: the rest still can
            _log.warning("recovery: record %d not restored (%s)", record.num, exc)
    handler.process(batch)
    handler.handle(END)
    for warning in warnings:
        _log.warning("recovery of %s: %s", log_path, warning)
    with LogWriter(log_path, append_at=state.end) as lw:
        for record in out:
            lw.append(record.SerializeToString())
        lw.fsync()

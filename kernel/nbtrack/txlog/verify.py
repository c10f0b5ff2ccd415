"""``nbtrack verify LOGFILE``: check a transaction log and say what it holds.

``verify(path)`` reads the whole log (tolerating damage) and returns a
``VerifyReport``; ``format_report(report)`` renders it as text. A file that is
not a transaction log raises ``ValueError``; an unreadable one ``OSError``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nbtrack.txlog.reader import Damage, read_records
from nbtrack.txlog.ring import KIND_ROW, read_ring, ring_in_use, ring_path_for

__all__ = ["VerifyReport", "format_report", "verify"]


@dataclass
class VerifyReport:
    path: Path
    bytes: int = 0  # file size read
    records: int = 0  # records that parsed
    counts: dict[str, int] = field(default_factory=dict)  # record type -> records
    history_rows: int = 0
    first_step: int | None = None  # from the history records
    last_step: int | None = None
    first_num: int | None = None  # Record.num of the first / last numbered record
    last_num: int | None = None
    missing_nums: int = 0  # numbers skipped in the num sequence (records lost)
    out_of_order_nums: int = 0  # records whose num is not above the previous one
    has_final: bool = False  # a FinalRecord: the run finished cleanly
    exit_code: int | None = None  # from the last ExitRecord
    payload_bytes: int = 0  # bytes of the records recovered
    torn_tail: bool = False
    torn_offset: int | None = None
    torn_bytes: int = 0
    damaged: list[Damage] = field(default_factory=list)
    undecodable: int = 0  # payloads that passed the checksum but do not parse
    # the write-ahead ring next to the log: entries (and of those log() calls) it holds that
    # the log does not; None when there is no ring file
    ring_pending: int | None = None
    ring_rows: int = 0
    ring_live: bool = False  # a running process holds it
    ring_problem: str = ""

    @property
    def damaged_bytes(self) -> int:
        return sum(d.skipped_bytes for d in self.damaged)

    @property
    def ok(self) -> bool:
        """Nothing damaged, nothing torn, no record missing."""
        return not self.damaged and not self.torn_tail and not self.missing_nums

    @property
    def status(self) -> str:
        if self.damaged or self.missing_nums:
            return "DAMAGED"
        if self.torn_tail:
            return "TORN"
        return "OK"


def verify(path: str | os.PathLike[str]) -> VerifyReport:
    """Read every record of the log at ``path`` and count what it holds."""
    reader = read_records(path)
    rep = VerifyReport(path=Path(path))
    counts = rep.counts
    prev_num: int | None = None
    max_seq = 0
    entries: set[int] = set()
    for record in reader:
        max_seq = max(max_seq, record.ring_seq)
        if record.ring_entry:
            entries.add(record.ring_entry)
        which = record.WhichOneof("record_type") or "none"
        counts[which] = counts.get(which, 0) + 1
        if which == "history":
            h = record.history
            rep.history_rows += len(h.rows)
            if h.rows:
                if rep.first_step is None:
                    rep.first_step = h.first_step
                rep.last_step = h.last_step
        elif which == "final":
            rep.has_final = True
        elif which == "exit":
            rep.exit_code = record.exit.exit_code
        num = record.num
        if num > 0:
            if rep.first_num is None:
                rep.first_num = num
            rep.last_num = num
            if prev_num is not None:
                if num > prev_num + 1:
                    rep.missing_nums += num - prev_num - 1
                elif num <= prev_num:
                    rep.out_of_order_nums += 1
            prev_num = num if prev_num is None else max(prev_num, num)
    report = reader.report
    rep.records = report.records
    rep.bytes = report.bytes_read
    rep.payload_bytes = report.recovered_bytes
    rep.torn_tail = report.torn_tail
    rep.torn_offset = report.torn_offset
    rep.torn_bytes = report.torn_bytes
    rep.damaged = list(report.damaged)
    rep.undecodable = reader.undecodable
    _check_ring(rep, max_seq, entries)
    return rep


def _check_ring(rep: VerifyReport, max_seq: int, entries: set[int]) -> None:
    ring = ring_path_for(rep.path)
    if not ring.exists():
        return
    rep.ring_live = ring_in_use(ring)
    try:
        _report, found = read_ring(ring)
    except (OSError, ValueError) as exc:
        rep.ring_pending = 0
        rep.ring_problem = str(exc)
        return
    missing = [e for e in found if e.seq > max_seq and e.seq not in entries]
    rep.ring_pending = len(missing)
    rep.ring_rows = sum(1 for e in missing if e.kind == KIND_ROW)


def _n(value: int) -> str:
    return f"{value:,}"


def format_report(report: VerifyReport) -> str:
    """A readable multi-line account of ``report``."""
    r = report
    lines = [f"transaction log {r.path}"]
    lines.append(f"  size          {_n(r.bytes)} bytes")
    lines.append(f"  records       {_n(r.records)} ({_n(r.payload_bytes)} bytes of payload)")
    width = max((len(k) for k in r.counts), default=0)
    for kind in sorted(r.counts, key=lambda k: (-r.counts[k], k)):
        extra = ""
        if kind == "history":
            extra = f"  ({_n(r.history_rows)} rows"
            if r.first_step is not None:
                extra += f", steps {r.first_step}..{r.last_step}"
            extra += ")"
        lines.append(f"    {kind:<{width}}  {_n(r.counts[kind]):>10}{extra}")
    if r.first_num is not None:
        nums = f"  numbers       {r.first_num}..{r.last_num}"
        if r.missing_nums:
            nums += f", {_n(r.missing_nums)} missing"
        else:
            nums += ", none missing"
        if r.out_of_order_nums:
            nums += f", {_n(r.out_of_order_nums)} out of order"
        lines.append(nums)
    if r.has_final:
        code = "" if r.exit_code is None else f" (exit code {r.exit_code})"
        lines.append(f"  finished      yes{code}")
    else:
        lines.append(
            "  finished      no (no final record: the run is still running or did not finish)"
        )
    if r.torn_tail:
        lines.append(
            f"  torn tail     yes: the last {_n(r.torn_bytes)} bytes (from offset "
            f"{r.torn_offset}) are an incomplete write and were dropped"
        )
    else:
        lines.append("  torn tail     no")
    if r.damaged:
        lines.append(
            f"  damage        {len(r.damaged)} region(s), {_n(r.damaged_bytes)} bytes skipped"
            + (f", {r.undecodable} record(s) that do not parse" if r.undecodable else "")
        )
        for d in r.damaged:
            lines.append(f"    at offset {d.offset}: {_n(d.skipped_bytes)} bytes ({d.reason})")
    else:
        lines.append("  damage        none")
    if r.ring_pending is None:
        lines.append("  ring          none (nothing waits outside the log)")
    elif r.ring_problem:
        lines.append(f"  ring          unreadable: {r.ring_problem}")
    else:
        holder = " (held by a running process)" if r.ring_live else ""
        todo = "" if r.ring_live or not r.ring_pending else ": `nbtrack sync` adds them"
        lines.append(f"  ring          {_n(r.ring_pending)} entries ({_n(r.ring_rows)} log() "
                     f"calls) not in the log{holder}{todo}")
    lines.append(f"  status        {r.status}")
    return "\n".join(lines)

"""What a damaged log lost, said in rows and steps, for ``nbtrack sync``.

Every line record carries the line index it starts at (``line_start``), so a record
after a skipped damaged block shows exactly how many lines of each file are missing and,
for history, which steps (from the steps of the records either side). The reader's
``Damage`` regions (file offsets) are matched to the gap between the two records that
enclose them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import Damage
from nbtrack.wire.files import EVENTS, HISTORY, OUTPUT

_WHAT = {HISTORY: "rows", EVENTS: "system-metrics rows", OUTPUT: "console lines"}


@dataclass
class Gap:
    """Lines of ``file`` from ``first`` to ``last`` (inclusive) absent from the log."""

    file: str
    first: int
    last: int
    after_offset: int  # file offsets of the readable records either side
    before_offset: int
    steps: tuple[int, int] | None = None  # history: the steps those rows had


@dataclass
class GapTracker:
    """Fed each record of the log in order (with its file offset); see the module doc."""

    gaps: list[Gap] = field(default_factory=list)
    _next: dict[str, int] = field(default_factory=dict)
    _next_step: int = 0
    _prev_offset: dict[str, int] = field(default_factory=dict)  # per file: its last record
    _last_offset: int = 0
    last_step: int | None = None

    def start(self, run: pb.RunRecord) -> None:
        """The run record (from the log or its sidecar): where each file begins."""
        if run.offsets_known and not self._next:
            self._next = {HISTORY: int(run.history_line_offset),
                          EVENTS: int(run.events_line_offset),
                          OUTPUT: int(run.output_line_offset)}
            self._next_step = int(run.starting_step)

    def see(self, offset: int, record: pb.Record) -> None:
        kind = record.WhichOneof("record_type")
        if kind == "history":
            h = record.history
            self._line(offset, HISTORY, h, len(h.rows), (h.first_step, h.last_step))
        elif kind == "output":
            self._line(offset, OUTPUT, record.output, 1, None)
        elif kind == "stats" and record.stats.row_json:
            self._line(offset, EVENTS, record.stats, 1, None)
        self._last_offset = offset

    def _line(self, offset: int, name: str, rec: pb.HistoryRecord | pb.OutputRecord
              | pb.StatsRecord, n: int, steps: tuple[int, int] | None) -> None:
        if not rec.HasField("line_start"):
            return  # a log written before line_start: nothing to compare
        start = int(rec.line_start)
        expected = self._next.get(name, 0)
        if start > expected:
            gap = Gap(name, expected, start - 1, self._prev_offset.get(name, 0), offset)
            if steps is not None:
                gap.steps = (self._next_step, steps[0] - 1)
            self.gaps.append(gap)
        self._next[name] = max(expected, start + n)
        self._prev_offset[name] = offset
        if steps is not None:
            self._next_step = steps[1] + 1
            self.last_step = steps[1]

    def describe(self, damaged: list[Damage]) -> list[str]:
        """One line per damaged stretch: bytes, offset, and what of the run it held."""
        out: list[str] = []
        # each gap belongs to the first damaged region between its file's records either
        # side (one damaged block usually makes a gap in several files)
        groups: dict[int, list[Gap]] = {}
        used: dict[int, list[Damage]] = {}
        for g in self.gaps:
            here = [d for d in damaged if g.after_offset <= d.offset < g.before_offset]
            key = here[0].offset if here else -1 - len(groups)
            groups.setdefault(key, []).append(g)
            used.setdefault(key, [])
            used[key].extend(d for d in here if d not in used[key])
        claimed = {id(d) for ds in used.values() for d in ds}
        for key, gaps in sorted(groups.items()):
            out.append(f"{_where(used[key])}: {_lost(gaps)} could not be recovered")
        for d in damaged:
            if id(d) in claimed:
                continue
            tail = "" if self.last_step is None or d.offset < self._last_offset else \
                f" (after step {self.last_step}: rows logged later may be missing)"
            out.append(f"{_where([d])}: no rows lost{tail} ({d.reason})")
        return out


def _where(damage: list[Damage]) -> str:
    if not damage:
        return "records missing from the log"
    nbytes = sum(d.skipped_bytes for d in damage)
    return f"{nbytes} bytes damaged at offset {damage[0].offset}"


def _lost(gaps: list[Gap]) -> str:
    parts = []
    for g in gaps:
        n = g.last - g.first + 1
        if g.steps is not None and g.steps[1] >= g.steps[0]:
            parts.append(f"rows of steps {g.steps[0]}–{g.steps[1]} ({n} rows)")
        else:
            parts.append(f"{n} {_WHAT[g.file]}")
    return ", ".join(parts)

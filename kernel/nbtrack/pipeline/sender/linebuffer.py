"""The lines waiting for the run's file stream: a byte budget, per-file offsets, spilling.

Pure bookkeeping: no threads, no I/O, no clock, so every rule here is tested
without a server. The poster (``poster.py``) holds one ``LineBuffer`` under its
lock; the sender thread adds lines, the poster takes batches and reports how
each post ended.

- Lines are kept per file (``wandb-history.jsonl``, ``wandb-events.jsonl``,
  ``output.log``) in the order they were added, as the chunks they came in (one
  history record = one chunk of rows), so adding a record costs one append.
- ``take`` cuts a batch of at most ``max_post_bytes`` of lines, each file with its
  offset: the number of that file's lines posted so far. A batch is in flight until
  ``acknowledged`` (offsets advance), ``refused`` (the server refused it for good:
  offsets advance all the same, so the lines keep their own offsets for ``nbtrack
  sync`` to fill in from the log, and they are counted as not stored), ``put_back``
  (413: posted again in smaller posts) or ``unsent`` (the transport closed: the lines
  stay in the transaction log for ``nbtrack sync``).
- The summary is one line that the latest value replaces, posted at offset 0.
- Budget: lines held (pending + in flight) may reach ``max_held_bytes``. Beyond it,
  when the lines also exist in the run's transaction log (``can_spill``), a record
  is not kept: it is "spilled", and from then on every line record is, until the
  poster has read them all back from the log (``refill_range`` / ``refilled``), so
  each file stays in order. Without a log the caller waits for room instead.
- A chunk may say the line index it starts at (``start``: replayed records carry it, see
  ``pipeline/handler/lines.py``). A chunk that starts past the lines before it (a damaged
  block of the log was skipped) begins a new batch at its own offset, so the gap stays a
  gap and later lines never shift onto lines the server already holds (``gap_lines``).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from nbtrack.wire.files import EVENTS, HISTORY, OUTPUT, SUMMARY

LINE_FILES = (HISTORY, EVENTS, OUTPUT)

Chunk = tuple[list[str], int, int | None]  # (lines, their bytes, first line's index)


@dataclass
class Batch:
    """One post's worth of lines: ``files`` is the ``file_stream`` body's ``files`` part."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: int = 0
    nbytes: int = 0


@dataclass(frozen=True)
class RefillRange:
    """Spilled records to read back from the log: numbers ``first..last``, up to ``room`` bytes."""

    first: int
    last: int
    room: int


class LineBuffer:
    """See the module docstring; not thread-safe (the poster's lock guards it)."""

    def __init__(self, *, max_held_bytes: int, max_post_bytes: int, can_spill: bool) -> None:
        self.max_held_bytes = max_held_bytes
        self.max_post_bytes = max_post_bytes
        self.can_spill = can_spill
        self._chunks: dict[str, collections.deque[Chunk]] = {
            name: collections.deque() for name in LINE_FILES}
        self._waiting_bytes = dict.fromkeys(LINE_FILES, 0)  # pending, not in flight
        self._summary: str | None = None
        self._offsets = dict.fromkeys(LINE_FILES, 0)
        # records numbered spill_from..spill_upto are in the log only
        self._spill_from: int | None = None
        self._spill_upto = 0
        self._spilled_lines = 0
        # accounting
        self.held_bytes = 0  # pending + in flight: what the budget bounds
        self.total_bytes = 0  # handed over to be posted
        self.acked_bytes = 0  # acknowledged by the server
        self.pending_lines = 0  # handed over, not yet acknowledged or dropped
        self.dropped_lines = 0  # refused for good or discarded (kept in the log)
        self.summary_not_stored = False  # the last summary posted was refused for good
        self.spills = 0  # how many times spilling started
        self.gap_lines = 0  # lines a chunk's own start skipped over (missing from a log)

    # ------------------------------------------------------------------ adding
    def over_budget(self, nbytes: int) -> bool:
        """True when holding ``nbytes`` more would pass the budget (one item always fits)."""
        return self.held_bytes > 0 and self.held_bytes + nbytes > self.max_held_bytes

    def leave_in_log(self, num: int, nlines: int, nbytes: int) -> bool:
        """Decide whether record ``num``'s lines stay in the log (spilled) instead of memory.

        True: the lines are counted as handed over but not kept; the poster reads them
        back later. Records without a number (``num <= 0``) are never spilled.
        """
        if not self.can_spill or num <= 0:
            return False
        if self._spill_from is None:
            if not self.over_budget(nbytes):
                return False
            self._spill_from = num
            self.spills += 1
        self._spill_upto = max(self._spill_upto, num)
        self._spilled_lines += nlines
        self.total_bytes += nbytes
        self.pending_lines += nlines
        return True

    def add(self, name: str, lines: list[str], nbytes: int, start: int | None = None) -> None:
        """Keep ``lines`` of file ``name`` (whatever the budget: the caller checked it);
        ``start``: the index of the first line, when the record says it."""
        self._keep(name, lines, nbytes, start)
        self.total_bytes += nbytes
        self.pending_lines += len(lines)

    def set_summary(self, full_json: str) -> None:
        """Replace the summary to post; one not yet taken is replaced, never sent."""
        if self._summary is not None:
            self.total_bytes -= len(self._summary)
            self.held_bytes -= len(self._summary)
            self.pending_lines -= 1
        self._summary = full_json
        self.held_bytes += len(full_json)
        self.total_bytes += len(full_json)
        self.pending_lines += 1

    def _keep(self, name: str, lines: list[str], nbytes: int, start: int | None = None) -> None:
        self._chunks[name].append((lines, nbytes, start))
        self._waiting_bytes[name] += nbytes
        self.held_bytes += nbytes

    # ------------------------------------------------------------------ state
    @property
    def waiting_bytes(self) -> int:
        """Bytes of lines in memory not yet taken into a batch."""
        return sum(self._waiting_bytes.values())

    @property
    def has_lines(self) -> bool:
        """Lines in memory not yet taken (spilled ones not counted)."""
        return any(self._chunks[name] for name in LINE_FILES)

    @property
    def has_pending(self) -> bool:
        """Anything left to post: lines in memory or in the log, or a summary."""
        return self.has_lines or self._summary is not None or self._spill_from is not None

    @property
    def spilling(self) -> bool:
        return self._spill_from is not None

    @property
    def urgent(self) -> bool:
        """A full post is waiting: post now rather than at the next interval."""
        return self.waiting_bytes >= self.max_post_bytes

    @property
    def offsets(self) -> dict[str, int]:
        return dict(self._offsets)

    def set_offsets(self, offsets: dict[str, int]) -> None:
        """Where each file continues on the server (a resumed run, a replayed log)."""
        for name in LINE_FILES:
            self._offsets[name] = int(offsets.get(name, 0))

    # ------------------------------------------------------------------ reading back
    def refill_range(self) -> RefillRange | None:
        """What to read back from the log now, or None (not spilling, or no room)."""
        if self._spill_from is None:
            return None
        room = min(self.max_held_bytes // 2, 2 * self.max_post_bytes) - self.waiting_bytes
        if room <= 0:
            return None
        return RefillRange(self._spill_from, self._spill_upto, room)

    def refilled(self, got: list[tuple[str, list[str], int]], last_num: int) -> None:
        """Keep lines read back from the log: ``(file, lines, bytes)`` up to record ``last_num``.

        They were counted when they were spilled; once the log is read up to the last
        spilled record, new lines are kept in memory again.
        """
        for name, lines, nbytes in got:
            self._keep(name, lines, nbytes)
            self._spilled_lines -= len(lines)
        if self._spill_from is None:
            return
        if last_num >= self._spill_upto:
            self._spill_from = None
            self._spilled_lines = 0
        elif last_num >= self._spill_from:
            self._spill_from = last_num + 1

    # ------------------------------------------------------------------ posting
    def take(self) -> Batch:
        """Cut the next batch: at most ``max_post_bytes`` of lines, then the summary
        (when it fits, or alone).

        A file's first line is taken even when it alone is over the budget, so a
        huge line cannot stall the stream.
        """
        batch = Batch()
        budget = self.max_post_bytes
        for name in LINE_FILES:
            chunks = self._chunks[name]
            taken: list[str] = []
            used = 0
            offset = self._offsets[name]
            while chunks and budget > 0:
                lines, nbytes, start = chunks[0]
                if start is not None and start > offset + len(taken):
                    if taken:
                        break  # a gap: the lines after it go in the next batch
                    self.gap_lines += start - offset
                    offset = start
                if nbytes <= budget:
                    chunks.popleft()
                    taken.extend(lines)
                    used += nbytes
                    budget -= nbytes
                    continue
                k = part = 0
                for line in lines:
                    if part + len(line) > budget and (k > 0 or taken):
                        break
                    part += len(line)
                    k += 1
                taken.extend(lines[:k])
                if k == len(lines):
                    chunks.popleft()
                else:
                    chunks[0] = (lines[k:], nbytes - part, None)
                used += part
                budget = 0
            if taken:
                self._waiting_bytes[name] -= used
                batch.files[name] = {"offset": offset, "content": taken}
                batch.lines += len(taken)
                batch.nbytes += used
        summary = self._summary
        if summary is not None and (batch.lines == 0
                                    or batch.nbytes + len(summary) <= self.max_post_bytes):
            batch.files[SUMMARY] = {"offset": 0, "content": [summary]}
            batch.lines += 1
            batch.nbytes += len(summary)
            self._summary = None
        return batch

    def acknowledged(self, batch: Batch) -> None:
        """The server stored the batch: each file's offset moves past its lines (a stored
        summary replaces one refused before)."""
        if SUMMARY in batch.files:
            self.summary_not_stored = False
        for name in LINE_FILES:
            f = batch.files.get(name)
            if f is not None:
                self._offsets[name] = f["offset"] + len(f["content"])
        self.held_bytes -= batch.nbytes
        self.acked_bytes += batch.nbytes
        self.pending_lines -= batch.lines

    def refused(self, batch: Batch) -> None:
        """The server refused the batch for good: its lines are not stored (counted).

        They stay in the transaction log, and the offsets move past them all the same:
        later lines keep their own offsets, so ``nbtrack sync`` fills the gap from the
        log and no line is stored twice or at another line's offset.
        """
        for name in LINE_FILES:
            f = batch.files.get(name)
            if f is not None:
                self._offsets[name] += len(f["content"])
        summary = 1 if SUMMARY in batch.files else 0
        self.summary_not_stored = self.summary_not_stored or bool(summary)
        self.held_bytes -= batch.nbytes
        self.dropped_lines += batch.lines - summary
        self.pending_lines -= batch.lines

    @property
    def not_stored(self) -> int:
        """Lines the server refused for good, and the summary while no later one was stored."""
        return self.dropped_lines + (1 if self.summary_not_stored else 0)

    def put_back(self, batch: Batch) -> None:
        """The server refused the batch as too large (413): its lines go back to the front,
        at the same offsets, and posts are cut at most half its size from now on."""
        for name in LINE_FILES:
            f = batch.files.get(name)
            if f is not None:
                lines = list(f["content"])
                nbytes = sum(map(len, lines))
                # at the same offset: the batch's own start (a replayed gap stays a gap)
                self._chunks[name].appendleft((lines, nbytes, f.get("offset")))
                self._waiting_bytes[name] += nbytes
        summary = batch.files.get(SUMMARY)
        if summary is not None:
            if self._summary is None:
                self._summary = summary["content"][0]
            else:  # a newer summary replaced it meanwhile: the old one is not sent
                self.held_bytes -= len(summary["content"][0])
                self.total_bytes -= len(summary["content"][0])
                self.pending_lines -= 1
        self.max_post_bytes = max(1, min(self.max_post_bytes, batch.nbytes // 2))

    def unsent(self, batch: Batch) -> None:
        """The transport closed before an answer: the lines stay pending, in the log."""
        self.held_bytes -= batch.nbytes

    def discard_all(self) -> int:
        """Drop everything pending (the run could not be created); the number of lines."""
        n = sum(len(c[0]) for name in LINE_FILES for c in self._chunks[name])
        n += (1 if self._summary is not None else 0) + self._spilled_lines
        for name in LINE_FILES:
            self._chunks[name].clear()
            self._waiting_bytes[name] = 0
        self._summary = None
        self._spill_from = None
        self._spilled_lines = 0
        self.held_bytes = 0
        self.dropped_lines += n
        self.pending_lines -= n
        return n

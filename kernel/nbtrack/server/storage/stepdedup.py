"""History rows keyed by ``_step`` as well as by line: what a post adds, merges or repeats.

Why: the file-stream offset alone cannot tell a re-sent row. The official client takes its
history offset from the ``historyLineCount`` that ``upsertBucket`` answers, so a forced
``wandb sync`` (or a sync after a crash) sends the rows the server already holds at new
offsets. So a row is also matched by its step:

- a row at a step the run does not hold is stored at its line (``line`` already taken:
  ignored, the offset rule that keeps nbtrack's own re-sends exactly-once);
- a row whose content the stored row at its step already has (the same JSON, or a subset
  of its keys with equal values) is a repeat: nothing is stored;
- a row with other content at a stored step is merged into the stored row key by key, the
  later value winning: W&B's rule for several ``log`` calls at one step, and what W&B says
  for an id reused without ``resume`` ("this run overwrites that data"). It never becomes
  a second row at that step.

Rows without an integer ``_step`` keep the offset rule only. Both backends call
:func:`plan` inside the transaction that writes the rows, with the stored rows of the
steps at or below the run's ``last_step`` (the common case, every step above it, reads
nothing and compares nothing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Appended", "Plan", "old_steps", "plan"]


@dataclass
class Appended:
    """What one ``append_lines`` call did (history: counted by row)."""

    inserted: int = 0  # rows (lines) offered for insertion at their line
    merged: int = 0  # rows merged into the stored row of their step
    repeats: int = 0  # rows the run already held at their step: nothing stored
    merged_steps: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """The writes a history chunk needs."""

    # (line, step, text) to insert-or-ignore; None: every line at ``offset + i`` as it is
    # (the common case, so the backend builds its parameters once)
    inserts: list[tuple[int, int | None, str]] | None
    updates: list[tuple[int, str]]  # (line, new text) of stored rows
    result: Appended


def old_steps(steps: list[int | None], last_step: int | None) -> list[int]:
    """The distinct steps of a chunk the run may already hold: those at or below its
    ``last_step`` (a step repeated inside the chunk is handled by :func:`plan`)."""
    if last_step is None:
        return []
    return sorted({s for s in steps if s is not None and s <= last_step})


def _row(text: str) -> dict[str, Any] | None:
    try:
        row = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return row if isinstance(row, dict) else None


def _merge(old_text: str, new_text: str) -> str | None:
    """The stored row with the new row's keys merged in; None when nothing changes."""
    if old_text == new_text:
        return None
    old, new = _row(old_text), _row(new_text)
    if old is None or new is None:
        return None
    merged = {**old, **new}
    if merged == old:
        return None
    return json.dumps(merged, separators=(",", ":"))


def plan(offset: int, lines: list[str], steps: list[int | None],
         stored: dict[int, tuple[int, str]]) -> Plan:
    """The inserts and updates for ``lines`` at ``offset`` (``steps[i]`` is line i's step);
    ``stored`` maps each step of :func:`old_steps` the run holds to its (line, text)."""
    inserts: list[tuple[int, int | None, str]] = []
    result = Appended()
    if not stored and len(set(steps)) == len(steps):  # the common case: nothing to match
        result.inserted = len(lines)
        return Plan(None, [], result)
    current = dict(stored)  # step -> (line, text): stored rows and rows of this chunk
    pending: dict[int, int] = {}  # step -> index in inserts (a row of this chunk)
    updates: dict[int, str] = {}  # line -> text
    for i, text in enumerate(lines):
        step = steps[i]
        if step is None or step not in current:
            if step is not None:
                current[step] = (offset + i, text)
                pending[step] = len(inserts)
            inserts.append((offset + i, step, text))
            continue
        line, old = current[step]
        new = _merge(old, text)
        if new is None:
            result.repeats += 1
            continue
        current[step] = (line, new)
        if step in pending:  # the same step twice in one chunk: one row
            inserts[pending[step]] = (line, step, new)
        else:
            updates[line] = new
        result.merged += 1
        result.merged_steps.append(step)
    result.inserted = len(inserts)
    return Plan(inserts, sorted(updates.items()), result)

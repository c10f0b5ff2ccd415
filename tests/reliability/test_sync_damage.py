"""``nbtrack sync`` of a damaged transaction log keeps every line at its own offset.

A damaged block is skipped by the reader; the lines after it must still land at the
line index the handler gave them, so a gap stays a gap and nothing collides with rows
the server already holds. A damaged run record does not make the log unsyncable: the
run's identity is also in the 0600 sidecar next to the log. Sync says what it skipped.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

from crashkit import cli

import nbtrack
from nbtrack.txlog import LogReader, read_records
from nbtrack.txlog.format import BLOCK_SIZE

from helpers.reliability import record_figure

ROWS = 20_000


def _offline_log(rows: int = ROWS) -> tuple[Path, str]:
    run = nbtrack.init(project="damage", mode="offline", config={"lr": 0.5})
    for i in range(rows):
        run.log({"i": i, "pad": "x" * 40})
    run.finish(quiet=True)
    return run.log_path, run.id


def _history_offsets(path: Path) -> list[tuple[int, list[int]]]:
    """(file offset, steps) of every history record of the log."""
    out = []
    for offset, payload in LogReader(path).iter_with_offsets():
        from nbtrack.proto import nbtrack_pb2 as pb

        rec = pb.Record.FromString(payload)
        if rec.WhichOneof("record_type") == "history":
            out.append((offset, [json.loads(r)["_step"] for r in rec.history.rows]))
    return out


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _steps_in_log(path: Path) -> list[int]:
    return [json.loads(r)["_step"] for rec in read_records(path)
            if rec.WhichOneof("record_type") == "history" for r in rec.history.rows]


def _stored_steps(server: Any, project: str = "damage") -> tuple[list[int], str]:
    api = nbtrack.Api(server.url, server.token)
    runs = api.runs(project=project)
    assert len(runs) == 1, runs
    return [r["_step"] for r in runs[0].history()], runs[0].state


def test_sync_after_damage_keeps_offsets_aligned(nbtrack_dir: Path, live_server: Any) -> None:
    """The server holds the first part of the run (a torn copy was synced); the full log,
    with one flipped byte inside that part, is synced: every row is stored exactly once."""
    log, _ = _offline_log()
    records = _history_offsets(log)
    # a torn copy that ends two thirds in: the server gets its rows first
    cut = records[2 * len(records) // 3][0] + 5
    torn = nbtrack_dir / "torn" / log.name
    torn.parent.mkdir()
    torn.write_bytes(log.read_bytes()[:cut])
    sidecar = log.with_name(log.name + ".run")
    if sidecar.exists():
        shutil.copy(sidecar, torn.with_name(torn.name + ".run"))
    first = cli(nbtrack_dir, "sync", str(torn), url=live_server.url, token=live_server.token)
    assert first.returncode == 0, first.stderr
    held, _ = _stored_steps(live_server)
    assert held == list(range(len(held))) and 0 < len(held) < ROWS
    # one flipped byte in a history record of block 3, well inside what the server holds
    victim = next(off for off, _ in records if off > 3 * BLOCK_SIZE + 64)
    assert _history_offsets(log)[-1][1][-1] < ROWS  # sanity: the log is whole
    _flip(log, victim + 20)
    in_log = _steps_in_log(log)
    lost_in_log = sorted(set(range(ROWS)) - set(in_log))
    assert lost_in_log and lost_in_log[-1] < len(held)

    sync = cli(nbtrack_dir, "sync", str(log), url=live_server.url, token=live_server.token)
    assert sync.returncode == 0, sync.stderr
    out = sync.stdout + sync.stderr
    steps, state = _stored_steps(live_server)
    missing = sorted(set(range(ROWS)) - set(steps))
    record_figure("sync_damage", rows=ROWS, held_before=len(held),
                  rows_damaged_in_log=len(lost_in_log), stored=len(steps),
                  missing=len(missing), duplicates=len(steps) - len(set(steps)))
    assert steps == list(range(ROWS)), f"{len(missing)} rows not stored, first {missing[:5]}"
    assert state == "finished"
    assert "damaged" in out and f"steps {lost_in_log[0]}–{lost_in_log[-1]}" in out, out


def test_sync_with_damaged_run_record(nbtrack_dir: Path, live_server: Any) -> None:
    """A flipped byte in the run record: the run is still created from the sidecar, every
    row outside the damaged block is stored at its own line, and sync names the loss."""
    log, run_id = _offline_log()
    assert stat.S_IMODE(log.with_name(log.name + ".run").stat().st_mode) == 0o600
    whole = _steps_in_log(log)
    assert whole == list(range(ROWS))
    first_run = next(off for off, payload in LogReader(log).iter_with_offsets()
                     if b"damage" in payload)
    _flip(log, first_run + 12)
    in_log = _steps_in_log(log)
    lost = sorted(set(range(ROWS)) - set(in_log))
    assert lost and lost[0] == 0

    sync = cli(nbtrack_dir, "sync", str(log), url=live_server.url, token=live_server.token)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    out = sync.stdout + sync.stderr
    steps, state = _stored_steps(live_server)
    record_figure("sync_damaged_run_record", rows=ROWS, lost_in_log=len(lost),
                  stored=len(steps), duplicates=len(steps) - len(set(steps)))
    assert steps == in_log  # every readable row, once, nothing else
    assert state == "finished"
    api_run = nbtrack.Api(live_server.url, live_server.token).runs(project="damage")[0]
    assert api_run.id == run_id and api_run.config.get("lr") == 0.5
    assert f"steps 0–{lost[-1]}" in out and "run record" in out, out
    # rows are at their own line: a second sync adds nothing
    again = cli(nbtrack_dir, "sync", str(log), url=live_server.url, token=live_server.token)
    assert again.returncode == 0
    assert _stored_steps(live_server)[0] == in_log

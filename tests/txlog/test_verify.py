"""``nbtrack verify``: counts per record type, torn tails, damage."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import BLOCK_SIZE, LogWriter
from nbtrack.txlog.verify import format_report, verify


def write_run(path: Path, histories: int = 40, rows: int = 50, skip_num: int | None = None) -> None:
    num = 0

    def add(w: LogWriter, record: pb.Record) -> None:
        nonlocal num
        num += 1
        if num == skip_num:
            num += 1
        record.num = num
        w.append(record.SerializeToString())

    with LogWriter(path) as w:
        add(w, pb.Record(run=pb.RunRecord(run_id="abc", project="p")))
        add(w, pb.Record(config=pb.ConfigRecord(full_json='{"lr": 0.1}')))
        for i in range(histories):
            add(
                w,
                pb.Record(
                    history=pb.HistoryRecord(
                        rows=[f'{{"_step": {i * rows + j}, "loss": 0.5}}' for j in range(rows)],
                        first_step=i * rows,
                        last_step=i * rows + rows - 1,
                    )
                ),
            )
        add(w, pb.Record(summary=pb.SummaryRecord(full_json='{"loss": 0.5}')))
        add(w, pb.Record(output=pb.OutputRecord(line="hello")))
        add(w, pb.Record(exit=pb.ExitRecord(exit_code=3)))
        add(w, pb.Record(final=pb.FinalRecord()))


def test_counts_per_type(tmp_path: Path) -> None:
    path = tmp_path / "run.nbtrack"
    write_run(path)
    rep = verify(path)
    assert rep.counts == {
        "run": 1,
        "config": 1,
        "history": 40,
        "summary": 1,
        "output": 1,
        "exit": 1,
        "final": 1,
    }
    assert rep.records == 46
    assert rep.history_rows == 2000
    assert (rep.first_step, rep.last_step) == (0, 1999)
    assert (rep.first_num, rep.last_num, rep.missing_nums) == (1, 46, 0)
    assert rep.has_final and rep.exit_code == 3
    assert rep.bytes == path.stat().st_size > BLOCK_SIZE
    assert not rep.torn_tail and rep.damaged == [] and rep.ok and rep.status == "OK"
    text = format_report(rep)
    assert str(path) in text
    assert "history" in text and "2,000 rows" in text
    assert "torn tail     no" in text
    assert "status        OK" in text
    assert len(text.splitlines()) > 8


def test_truncated_file_reports_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "run.nbtrack"
    write_run(path)
    size = path.stat().st_size
    os.truncate(path, size - 3)
    rep = verify(path)
    assert rep.torn_tail
    assert rep.torn_bytes > 0 and rep.torn_offset is not None
    assert "final" not in rep.counts and not rep.has_final
    assert rep.records == 45
    assert rep.status == "TORN" and not rep.ok
    text = format_report(rep)
    assert "torn tail     yes" in text
    assert f"offset {rep.torn_offset}" in text


def test_damage_reported(tmp_path: Path) -> None:
    path = tmp_path / "run.nbtrack"
    write_run(path, histories=200)
    raw = bytearray(path.read_bytes())
    assert len(raw) > 3 * BLOCK_SIZE
    raw[BLOCK_SIZE + 100] ^= 0xFF
    path.write_bytes(bytes(raw))
    rep = verify(path)
    assert not rep.torn_tail
    assert len(rep.damaged) == 1 and rep.damaged[0].offset < 2 * BLOCK_SIZE
    assert rep.missing_nums > 0  # the records lost in the damaged block
    assert rep.has_final
    assert rep.status == "DAMAGED"
    text = format_report(rep)
    assert f"at offset {rep.damaged[0].offset}" in text
    assert "DAMAGED" in text


def test_missing_numbers(tmp_path: Path) -> None:
    path = tmp_path / "run.nbtrack"
    write_run(path, histories=3, skip_num=4)
    rep = verify(path)
    assert rep.missing_nums == 1 and not rep.ok
    assert "1 missing" in format_report(rep)


def test_not_a_log(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello world, not a log")
    with pytest.raises(ValueError, match="not an nbtrack transaction log"):
        verify(path)
    with pytest.raises(OSError):
        verify(tmp_path / "missing.nbtrack")

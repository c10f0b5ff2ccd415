"""What sync says about a damaged log: rows and steps from the line_start gaps."""

from __future__ import annotations

from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.sdk.syncgaps import GapTracker
from nbtrack.txlog import Damage


def _history(first: int, last: int, line_start: int) -> pb.Record:
    rec = pb.Record()
    rec.history.rows.extend(["{}"] * (last - first + 1))
    rec.history.first_step, rec.history.last_step = first, last
    rec.history.line_start = line_start
    return rec


def _output(line_start: int) -> pb.Record:
    rec = pb.Record()
    rec.output.line = "x"
    rec.output.line_start = line_start
    return rec


def test_a_gap_names_its_steps_lines_and_the_damage_between() -> None:
    t = GapTracker()
    t.start(pb.RunRecord(offsets_known=True, starting_step=100, history_line_offset=100))
    t.see(100, _history(100, 109, 100))
    t.see(200, _output(0))
    # records of steps 110..139 and output lines 1..2 were in the damaged block
    t.see(70_000, _history(140, 149, 140))
    t.see(70_100, _output(3))
    said = t.describe([Damage(32_768, 1_000, "checksum mismatch"),
                       Damage(90_000, 50, "checksum mismatch")])
    assert said[0] == ("1000 bytes damaged at offset 32768: rows of steps 110–139 (30 rows), "
                       "2 console lines could not be recovered")
    assert said[1].startswith("50 bytes damaged at offset 90000: no rows lost")
    assert len(said) == 2


def test_records_without_line_start_are_not_judged() -> None:
    t = GapTracker()
    rec = pb.Record()
    rec.history.rows.append("{}")
    t.see(10, rec)
    assert t.describe([]) == []

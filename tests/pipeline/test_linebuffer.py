"""LineBuffer: the file stream's bookkeeping as a pure object (no thread, no server)."""

from __future__ import annotations

import json

from nbtrack.pipeline.sender.linebuffer import Batch, LineBuffer
from nbtrack.wire.files import EVENTS, HISTORY, OUTPUT, SUMMARY


def rows(first: int, n: int) -> list[str]:
    return [json.dumps({"_step": s}) for s in range(first, first + n)]


def add(buf: LineBuffer, name: str, lines: list[str]) -> None:
    buf.add(name, lines, sum(map(len, lines)))


def drain(buf: LineBuffer) -> list[Batch]:
    """Take and acknowledge batches until nothing is pending (no refill: not spilling)."""
    batches = []
    while buf.has_pending:
        b = buf.take()
        buf.acknowledged(b)
        batches.append(b)
    return batches


def test_batches_carry_offsets_that_advance_on_acknowledge() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    add(buf, HISTORY, rows(0, 3))
    add(buf, EVENTS, ['{"cpu": 1}'])
    add(buf, OUTPUT, ["hello"])
    b1 = buf.take()
    assert b1.files == {HISTORY: {"offset": 0, "content": rows(0, 3)},
                        EVENTS: {"offset": 0, "content": ['{"cpu": 1}']},
                        OUTPUT: {"offset": 0, "content": ["hello"]}}
    assert b1.lines == 5 and not buf.has_pending
    # while a batch is in flight its bytes still count against the budget
    assert buf.held_bytes == b1.nbytes and buf.pending_lines == 5
    buf.acknowledged(b1)
    assert buf.held_bytes == 0 and buf.pending_lines == 0 and buf.acked_bytes == b1.nbytes
    add(buf, HISTORY, rows(3, 2))
    b2 = buf.take()
    assert b2.files[HISTORY]["offset"] == 3
    assert buf.offsets == {HISTORY: 3, EVENTS: 1, OUTPUT: 1}


def test_a_refused_batch_is_not_stored_and_its_offsets_are_never_reused() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    add(buf, HISTORY, rows(0, 3))
    buf.refused(buf.take())
    assert buf.dropped_lines == 3 and buf.pending_lines == 0 and buf.held_bytes == 0
    add(buf, HISTORY, rows(3, 2))
    # later lines keep their own offsets: sync fills 0..2 from the log, nothing twice
    assert buf.take().files[HISTORY] == {"offset": 3, "content": rows(3, 2)}


def test_a_refused_summary_counts_until_a_later_one_is_stored() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    add(buf, HISTORY, rows(0, 2))
    buf.set_summary('{"s": 1}')
    buf.refused(buf.take())
    assert (buf.dropped_lines, buf.not_stored) == (2, 3)
    buf.set_summary('{"s": 2}')
    buf.acknowledged(buf.take())
    assert (buf.dropped_lines, buf.not_stored) == (2, 2)  # the summary is whole again


def test_a_batch_put_back_after_413_is_posted_again_in_halves_at_the_same_offsets() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    a = rows(0, 8)
    add(buf, HISTORY, a)
    buf.set_summary('{"s": 1}')
    first = buf.take()
    buf.put_back(first)
    assert buf.max_post_bytes == first.nbytes // 2
    assert buf.pending_lines == 9 and buf.held_bytes == first.nbytes
    batches = drain(buf)
    assert len(batches) >= 2
    assert all(b.nbytes <= first.nbytes // 2 for b in batches)
    got = [line for b in batches for line in b.files.get(HISTORY, {}).get("content", [])]
    assert got == a
    offsets = [b.files[HISTORY]["offset"] for b in batches if HISTORY in b.files]
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert [b.files[SUMMARY]["content"] for b in batches if SUMMARY in b.files] == [['{"s": 1}']]
    assert buf.offsets[HISTORY] == 8 and buf.pending_lines == 0 and buf.held_bytes == 0


def test_a_put_back_summary_replaced_meanwhile_is_not_sent() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    add(buf, HISTORY, rows(0, 2))
    buf.set_summary('{"s": 1}')
    b = buf.take()
    buf.set_summary('{"s": 2}')
    buf.put_back(b)
    summaries = [x.files[SUMMARY]["content"] for x in drain(buf) if SUMMARY in x.files]
    assert summaries == [['{"s": 2}']]
    assert buf.pending_lines == 0 and buf.held_bytes == 0


def test_an_unsent_batch_stays_pending_for_sync() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    add(buf, HISTORY, rows(0, 3))
    buf.unsent(buf.take())
    assert buf.pending_lines == 3 and buf.dropped_lines == 0 and buf.held_bytes == 0


def test_max_post_bytes_cuts_chunks_and_keeps_order() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=100, can_spill=False)
    a = rows(0, 40)
    add(buf, HISTORY, a[:25])
    add(buf, HISTORY, a[25:])
    batches = drain(buf)
    assert len(batches) > 3
    got: list[str] = []
    for b in batches:
        chunk = b.files[HISTORY]
        assert chunk["offset"] == len(got)
        assert sum(map(len, chunk["content"])) <= 100
        got += chunk["content"]
    assert got == a


def test_a_line_bigger_than_a_post_still_goes() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=10, can_spill=False)
    big = "x" * 50
    add(buf, OUTPUT, [big, "y"])
    assert buf.take().files[OUTPUT]["content"] == [big]
    assert buf.take().files[OUTPUT]["content"] == ["y"]


def test_summary_is_replaced_until_taken() -> None:
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    buf.set_summary('{"a": 1}')
    buf.set_summary('{"a": 2}')
    assert buf.pending_lines == 1 and buf.total_bytes == len('{"a": 2}')
    b = buf.take()
    assert b.files == {SUMMARY: {"offset": 0, "content": ['{"a": 2}']}}
    buf.acknowledged(b)
    assert buf.acked_bytes == buf.total_bytes and buf.offsets[HISTORY] == 0


def test_budget_without_a_log_means_wait() -> None:
    buf = LineBuffer(max_held_bytes=100, max_post_bytes=50, can_spill=False)
    assert not buf.over_budget(1000)  # one item always fits in an empty buffer
    add(buf, HISTORY, ["x" * 60])
    assert not buf.leave_in_log(7, 1, 60)  # no log to leave it in
    assert buf.over_budget(60) and not buf.over_budget(40)


def test_spill_then_refill_in_order() -> None:
    """Over budget, numbered records stay in the log until the buffer read them all back."""
    buf = LineBuffer(max_held_bytes=100, max_post_bytes=60, can_spill=True)
    log: dict[int, tuple[str, list[str]]] = {}
    for n in range(1, 11):
        line = [json.dumps({"_step": n})]
        log[n] = (HISTORY, line)
        if not buf.leave_in_log(n, 1, len(line[0])):
            add(buf, HISTORY, line)
    assert buf.spilling and buf.spills == 1 and buf.held_bytes <= 100
    assert buf.pending_lines == 10 and buf.total_bytes == sum(len(v[1][0]) for v in log.values())
    steps: list[int] = []
    while buf.has_pending:
        want = buf.refill_range()
        if want is not None:
            got, last = [], want.first - 1
            room = want.room
            for n in range(want.first, want.last + 1):
                name, lines = log[n]
                got.append((name, lines, len(lines[0])))
                last = n
                room -= len(lines[0])
                if room <= 0:
                    break
            buf.refilled(got, last)
        b = buf.take()
        steps += [json.loads(r)["_step"] for r in b.files.get(HISTORY, {"content": []})["content"]]
        buf.acknowledged(b)
    assert steps == list(range(1, 11))
    assert not buf.spilling and buf.pending_lines == 0 and buf.acked_bytes == buf.total_bytes
    # caught up: new lines are kept in memory again
    assert not buf.leave_in_log(11, 1, 10)


def test_spilling_leaves_every_line_record_in_the_log_until_caught_up() -> None:
    buf = LineBuffer(max_held_bytes=30, max_post_bytes=30, can_spill=True)
    add(buf, HISTORY, ["h" * 25])
    assert buf.leave_in_log(2, 1, 10)  # over budget: spilling starts at record 2
    assert buf.leave_in_log(3, 1, 1)  # would fit, but must stay behind record 2
    assert not buf.leave_in_log(0, 1, 1)  # a record without a number is never spilled
    assert buf.refill_range() is None  # no room yet: 25 bytes wait to be posted
    buf.acknowledged(buf.take())
    want = buf.refill_range()
    assert want is not None and (want.first, want.last) == (2, 3)
    buf.refilled([(EVENTS, ["e" * 10], 10)], 2)
    want = buf.refill_range()
    assert want is not None and want.first == 3
    buf.refilled([(OUTPUT, ["o"], 1)], 3)
    assert not buf.spilling


def test_discard_all_counts_what_was_spilled_too() -> None:
    buf = LineBuffer(max_held_bytes=30, max_post_bytes=30, can_spill=True)
    add(buf, HISTORY, ["h" * 25])
    buf.set_summary("{}")
    assert buf.leave_in_log(2, 4, 40)
    assert buf.discard_all() == 1 + 1 + 4
    assert not buf.has_pending and buf.pending_lines == 0 and buf.dropped_lines == 6


def test_a_chunk_past_a_gap_starts_its_own_batch_at_its_own_offset() -> None:
    """Replayed records after a skipped damaged block keep their line index: the batch
    stops before the gap and the next one begins at the chunk's start."""
    buf = LineBuffer(max_held_bytes=1 << 20, max_post_bytes=1 << 20, can_spill=False)
    buf.add(HISTORY, ["a", "b"], 2, start=0)
    buf.add(HISTORY, ["f", "g"], 2, start=5)  # lines 2..4 were in the damaged block
    first = buf.take()
    assert first.files[HISTORY] == {"offset": 0, "content": ["a", "b"]}
    buf.acknowledged(first)
    second = buf.take()
    assert second.files[HISTORY] == {"offset": 5, "content": ["f", "g"]}
    buf.acknowledged(second)
    assert buf.offsets[HISTORY] == 7 and buf.gap_lines == 3 and buf.pending_lines == 0

"""The transaction log format: round trips, torn tails, damage, garbage."""

from __future__ import annotations

import contextlib
import os
import random
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import BLOCK_SIZE, FILE_HEADER, LogReader, LogWriter, read_records
from nbtrack.txlog.format import CHUNK_HEADER_SIZE, FIRST, FULL, LAST

H = CHUNK_HEADER_SIZE


def write_log(path: Path, records: list[bytes]) -> list[int]:
    """Write ``records``; return the file offset where each one ends."""
    ends = []
    with LogWriter(path) as w:
        for r in records:
            w.append(r)
            ends.append(w.offset)
    return ends


def read_all(path: Path) -> tuple[list[bytes], LogReader]:
    reader = LogReader(path)
    return list(reader), reader


def test_header_and_single_record_layout(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_log(path, [b"hello"])
    raw = path.read_bytes()
    assert raw[:9] == b"NBTRKLOG\x01" == FILE_HEADER
    crc, length, typ = struct.unpack_from("<IHB", raw, 9)
    assert (length, typ) == (5, FULL)
    assert crc == zlib.crc32(bytes([FULL]) + b"hello")
    assert raw[16:] == b"hello"
    assert len(raw) == 9 + 7 + 5


def test_round_trip_random_sizes(tmp_path: Path) -> None:
    rng = random.Random(7)
    sizes = [0, 1, 7, 100, 2048, BLOCK_SIZE - 16, BLOCK_SIZE, 40_000, 3 * BLOCK_SIZE + 5, 150_000]
    records = [rng.randbytes(rng.choice(sizes)) for _ in range(400)]
    path = tmp_path / "a.log"
    write_log(path, records)
    out, reader = read_all(path)
    assert out == records
    rep = reader.report
    assert rep.records == len(records)
    assert rep.bytes_read == path.stat().st_size
    assert rep.recovered_bytes == sum(map(len, records))
    assert not rep.torn_tail and rep.damaged == [] and rep.ok
    # chunks never cross a block boundary: every 32 KiB boundary starts a chunk or padding
    assert any(len(r) > BLOCK_SIZE for r in records)


def test_chunk_header_in_last_bytes_of_block(tmp_path: Path) -> None:
    """Records positioned so the next chunk header would land in the block's last < 7
    bytes (zero padding), exactly 7 bytes (empty FIRST chunk) and 8 bytes."""
    path = tmp_path / "a.log"
    records: list[bytes] = []
    for tail in range(0, 10):
        # fill block up to BLOCK_SIZE - tail, then a record that must continue
        records = []
        first_len = BLOCK_SIZE - 9 - H - tail
        records.append(b"a" * first_len)
        records.append(b"b" * 50)
        records.append(b"")
        records.append(b"c" * 3)
        p = tmp_path / f"t{tail}.log"
        write_log(p, records)
        out, reader = read_all(p)
        assert out == records, tail
        assert reader.report.ok
        raw = p.read_bytes()
        if 0 < tail < H:
            assert raw[BLOCK_SIZE - tail : BLOCK_SIZE] == bytes(tail)  # zero padding
        if tail == H:  # exactly a header's worth: an empty FIRST chunk
            _, length, typ = struct.unpack_from("<IHB", raw, BLOCK_SIZE - H)
            assert (length, typ) == (0, FIRST)
    del path


def test_zero_length_records(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_log(path, [b"", b"x", b"", b""])
    out, reader = read_all(path)
    assert out == [b"", b"x", b"", b""]
    assert reader.report.records == 4


def test_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_log(path, [])
    out, reader = read_all(path)
    assert out == [] and reader.report.ok and reader.report.bytes_read == 9


def test_exclusive_create(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        LogWriter(path)
    assert path.read_bytes() == b"precious"


def test_offset_flush_and_close_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    w = LogWriter(path)
    assert w.offset == 9 and w.flushed_offset == 9
    w.append(b"x" * 10)
    assert w.offset == 9 + 7 + 10 and w.pending_bytes == 17
    assert path.stat().st_size == 9  # append only buffers
    w.flush()
    assert path.stat().st_size == w.offset == w.flushed_offset
    w.fsync()
    w.close()
    w.close()
    with pytest.raises(ValueError):
        w.append(b"y")


def test_wrong_header_raises(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"GARBAGE!!and more")
    with pytest.raises(ValueError, match=r"a\.log.*GARBAGE"):
        list(LogReader(path))
    path.write_bytes(b"NBTRKLOG\x07rest")
    with pytest.raises(ValueError, match="version 7"):
        list(LogReader(path))


def _boundaries(ends: list[int]) -> set[int]:
    """Cut positions at which nothing is torn: after the header, after a record, or
    inside the zero padding that follows a record."""
    ok = {9}
    for end in [9, *ends]:
        ok.add(end)
        left = BLOCK_SIZE - end % BLOCK_SIZE
        if left < H:
            ok.update(range(end, end + left + 1))
    return ok


def test_truncation_at_every_offset(tmp_path: Path) -> None:
    rng = random.Random(3)
    sizes = [5, 300, 2000, 0, 40_000, 9000, 300, 2000, 20_000, 0, 5, 9000, 300]
    records = [rng.randbytes(n) for n in sizes]
    path = tmp_path / "full.log"
    ends = write_log(path, records)
    size = path.stat().st_size
    assert 2 * BLOCK_SIZE < size < 4 * BLOCK_SIZE
    ok = _boundaries(ends)
    # cut the file shorter one byte at a time, down to nothing
    for cut in range(size, -1, -1):
        os.truncate(path, cut)
        out, reader = read_all(path)
        n_expected = sum(1 for e in ends if e <= cut)
        assert out == records[:n_expected], cut
        rep = reader.report
        assert rep.damaged == [], cut
        assert rep.torn_tail == (cut not in ok), cut
        assert rep.bytes_read == cut
        if rep.torn_tail:
            assert rep.torn_offset is not None and rep.torn_offset <= cut
            assert rep.torn_bytes == cut - rep.torn_offset
            assert rep.torn_bytes > 0 or cut == 0  # an empty file: the header never made it


def test_truncation_with_padding_near_block_end(tmp_path: Path) -> None:
    # records of 2 KB put a record end 3 bytes before the block boundary
    first = b"q" * (BLOCK_SIZE - 9 - H - 3)
    records = [first, b"r" * 100, b"s" * 50_000, b"t"]
    path = tmp_path / "full.log"
    ends = write_log(path, records)
    raw = path.read_bytes()
    ok = _boundaries(ends)
    cut_path = tmp_path / "cut.log"
    for cut in [*range(ends[0] - 10, ends[0] + 20), *range(len(raw) - 60, len(raw) + 1)]:
        cut_path.write_bytes(raw[:cut])
        out, reader = read_all(cut_path)
        assert out == records[: sum(1 for e in ends if e <= cut)], cut
        assert reader.report.torn_tail == (cut not in ok), cut


def test_corruption_in_middle_is_damage_and_later_blocks_read(tmp_path: Path) -> None:
    records = [bytes([i % 251]) * 1000 for i in range(200)]  # ~6 blocks
    path = tmp_path / "a.log"
    write_log(path, records)
    raw = bytearray(path.read_bytes())
    bad_at = BLOCK_SIZE + 5000  # inside block 1
    raw[bad_at : bad_at + 4] = b"\xff\xff\xff\xff"
    path.write_bytes(bytes(raw))
    out, reader = read_all(path)
    rep = reader.report
    assert not rep.torn_tail
    assert len(rep.damaged) == 1
    d = rep.damaged[0]
    assert d.offset <= bad_at < d.offset + d.skipped_bytes
    # resync at the next block; the orphaned rest of a record spanning into it joins the region
    assert 2 * BLOCK_SIZE <= d.offset + d.skipped_bytes <= 2 * BLOCK_SIZE + 1000 + H
    assert d.reason
    # every record read is an original, in order; those after block 1 are all there
    assert all(r in records for r in out)
    idx = [records.index(r) for r in out]
    assert idx == sorted(idx)
    assert records[-1] == out[-1]
    lost = len(records) - len(out)
    assert 1 <= lost <= 40
    # records that lie wholly in block 2 and later are intact
    assert out[-100:] == records[-100:]


def test_corrupted_first_chunk_of_spanning_record(tmp_path: Path) -> None:
    big = b"B" * (3 * BLOCK_SIZE)
    records = [b"a" * 100, big, b"z" * 100]
    path = tmp_path / "a.log"
    write_log(path, records)
    raw = bytearray(path.read_bytes())
    raw[9 + H + 100 + H + 10] ^= 0x01  # payload of big's FIRST chunk
    path.write_bytes(bytes(raw))
    out, reader = read_all(path)
    assert out == [records[0], records[2]]
    rep = reader.report
    assert not rep.torn_tail
    # the FIRST chunk's block plus the orphaned MIDDLE/LAST chunks: one merged region
    assert len(rep.damaged) == 1
    d = rep.damaged[0]
    assert d.offset == 9 + H + 100
    assert d.skipped_bytes == len(raw) - (H + 100) - d.offset


def test_corruption_at_end_is_torn_tail(tmp_path: Path) -> None:
    records = [b"x" * 3000 for _ in range(30)]  # ~3 blocks
    path = tmp_path / "a.log"
    write_log(path, records)
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0xFF  # in the last record's payload
    path.write_bytes(bytes(raw))
    out, reader = read_all(path)
    assert out == records[:-1]
    assert reader.report.torn_tail and reader.report.damaged == []


def test_zero_filled_tail_is_torn(tmp_path: Path) -> None:
    records = [b"x" * 3000 for _ in range(5)]
    path = tmp_path / "a.log"
    write_log(path, records)
    with path.open("ab") as f:
        f.write(bytes(2 * BLOCK_SIZE + 123))  # a crash left zeroed, never-written pages
    out, reader = read_all(path)
    assert out == records
    assert reader.report.torn_tail and reader.report.damaged == []


def test_sequence_errors(tmp_path: Path) -> None:
    def chunk(typ: int, payload: bytes) -> bytes:
        crc = zlib.crc32(bytes([typ]) + payload)
        return struct.pack("<IHB", crc, len(payload), typ) + payload

    path = tmp_path / "a.log"
    body = (
        chunk(FULL, b"one")
        + chunk(LAST, b"orphan")  # a LAST with no record open
        + chunk(FIRST, b"interrupted")
        + chunk(FULL, b"two")  # a FULL while a record is open
        + chunk(FULL, b"three")
    )
    path.write_bytes(FILE_HEADER + body)
    out, reader = read_all(path)
    assert out == [b"one", b"two", b"three"]
    rep = reader.report
    assert not rep.torn_tail
    assert [d.offset for d in rep.damaged] == [9 + H + 3]  # merged: orphan + interrupted
    assert rep.damaged[0].skipped_bytes == (H + 6) + (H + 11)


def test_read_records_parses_and_reports_unparsable(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    good = [pb.Record(num=i, history=pb.HistoryRecord(rows=["{}"])) for i in range(1, 4)]
    with LogWriter(path) as w:
        w.append(good[0].SerializeToString())
        w.append(b"\xff\xff\xff\xff\xff")  # checksum fine, protobuf garbage
        w.append(good[1].SerializeToString())
        w.append(good[2].SerializeToString())
    reader = read_records(path)
    out = list(reader)
    assert [r.num for r in out] == [1, 2, 3]
    assert reader.report.records == 3
    assert len(reader.report.damaged) == 1
    assert "parse" in reader.report.damaged[0].reason


def test_read_is_repeatable_and_report_resets(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    write_log(path, [b"a", b"b"])
    reader = LogReader(path)
    assert list(reader) == [b"a", b"b"]
    assert list(reader) == [b"a", b"b"]
    assert reader.report.records == 2
    offsets = [o for o, _ in reader.iter_with_offsets()]
    assert offsets == [9, 9 + H + 1]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3 * BLOCK_SIZE))
def test_garbage_never_crashes(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("g") / "g.log"
    path.write_bytes(FILE_HEADER + data)
    reader = LogReader(path)
    for payload in reader:
        assert isinstance(payload, bytes)
    rep = reader.report
    assert rep.bytes_read == len(data) + 9
    assert rep.skipped_bytes <= rep.bytes_read
    list(read_records(path))
    # without a valid header: either a ValueError or a (torn) empty read
    path.write_bytes(data[:20])
    with contextlib.suppress(ValueError):
        assert list(LogReader(path)) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=25),
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(min_value=0, max_value=255)), max_size=8
    ),
    st.integers(min_value=0),
)
def test_mutated_log_yields_subsequence(
    tmp_path_factory: pytest.TempPathFactory,
    sizes: list[int],
    flips: list[tuple[int, int]],
    cut: int,
) -> None:
    records = [bytes([i % 256]) * s + i.to_bytes(2, "little") for i, s in enumerate(sizes)]
    path = tmp_path_factory.mktemp("m") / "m.log"
    write_log(path, records)
    raw = bytearray(path.read_bytes())
    for pos, value in flips:
        i = 9 + pos % (len(raw) - 9)
        raw[i] = value
    raw = raw[: max(9, cut % (len(raw) + 1))]
    path.write_bytes(bytes(raw))
    out, _ = read_all(path)
    it = iter(records)
    assert all(any(r == x for x in it) for r in out)  # out is a subsequence of records

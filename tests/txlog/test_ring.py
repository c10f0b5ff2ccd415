"""The write-ahead ring's file format: append, wrap, release, and reading it back."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nbtrack.txlog.ring import (
    ENTRY_SIZE,
    HEADER_SIZE,
    KIND_RECORD,
    KIND_ROW,
    RingFile,
    boot_id,
    read_ring,
    ring_in_use,
    ring_path_for,
)

CAP = 64 * 1024


def payloads(n: int, size: int = 100) -> list[bytes]:
    return [bytes([i % 251]) * size + i.to_bytes(4, "little") for i in range(n)]


def test_entries_read_back_in_order_after_the_released_point(tmp_path: Path) -> None:
    ring = RingFile(tmp_path / "r.ring", CAP)
    data = payloads(50)
    seqs = [ring.append(KIND_ROW if i % 3 else KIND_RECORD, p) for i, p in enumerate(data)]
    assert seqs == list(range(1, 51))
    ring.release_through(20)
    ring.close()
    report, entries = read_ring(tmp_path / "r.ring")
    assert report.released_seq == 20 and report.stopped == "end"
    assert [e.seq for e in entries] == list(range(21, 51))
    assert [e.payload for e in entries] == data[20:]
    assert [e.kind for e in entries] == [KIND_ROW if i % 3 else KIND_RECORD
                                         for i in range(20, 50)]


def test_wraps_and_reuses_released_space_only(tmp_path: Path) -> None:
    ring = RingFile(tmp_path / "r.ring", CAP)
    size = 1000  # 1,024 ring bytes per entry with its header: 64 fill the ring
    seq = 0
    for _round in range(12):  # 12 x 40 entries: laps through the same 64 KiB
        for p in payloads(40, size):
            assert ring.need(len(p)) <= ring.free()
            seq = ring.append(KIND_ROW, p)
        ring.release_through(seq - 3)  # the last three stay unreleased
        assert ring.used() > 0
    ring.close()
    report, entries = read_ring(tmp_path / "r.ring")
    assert [e.seq for e in entries] == [seq - 2, seq - 1, seq]  # not stale entries of a lap
    assert report.last_seq == seq


def test_need_counts_the_wasted_tail_at_the_end(tmp_path: Path) -> None:
    ring = RingFile(tmp_path / "r.ring", CAP)
    big = b"x" * (CAP // 2)
    ring.append(KIND_ROW, big)
    assert ring.need(len(big)) > ENTRY_SIZE + len(big)  # it must wrap to fit
    assert ring.need(len(big)) > ring.free()  # and the first one is not released yet
    ring.release_through(1)
    assert ring.need(len(big)) <= ring.free()
    ring.append(KIND_ROW, big)
    ring.close()
    _, entries = read_ring(tmp_path / "r.ring")
    assert [e.seq for e in entries] == [2] and entries[0].payload == big


def test_an_entry_whose_header_was_not_written_ends_the_read(tmp_path: Path) -> None:
    """A kill between the payload and its header leaves the header of an earlier lap (or
    none): the read ends there, and nothing after it counts (it cannot exist: the process
    died)."""
    ring = RingFile(tmp_path / "r.ring", CAP)
    for p in payloads(10):
        ring.append(KIND_ROW, p)
    ring.close()
    path = tmp_path / "r.ring"
    blob = bytearray(path.read_bytes())
    fifth = HEADER_SIZE + 4 * (ENTRY_SIZE + 112)
    blob[fifth + 8:fifth + 16] = struct.pack("<Q", 3)  # the seq an earlier lap left there
    path.write_bytes(bytes(blob))
    report, entries = read_ring(path)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert report.stopped == "end"


def test_a_ring_from_before_the_machine_restarted_is_not_trusted(tmp_path: Path) -> None:
    """After a machine crash the page cache was written back page by page, so a ring may
    mix laps: one from another boot is not read at all."""
    ring = RingFile(tmp_path / "r.ring", CAP)
    for p in payloads(10):
        ring.append(KIND_ROW, p)
    ring.close()
    path = tmp_path / "r.ring"
    blob = bytearray(path.read_bytes())
    assert bytes(blob[52:68]) == boot_id()  # where the format says
    blob[52:68] = bytes(16 * [0xAB])
    path.write_bytes(bytes(blob))
    report, entries = read_ring(path)
    assert entries == [] and not report.same_boot
    assert "machine last started" in report.stopped


def test_not_a_ring_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "x.ring"
    path.write_bytes(b"NBTRKLOG" + bytes(5000))
    with pytest.raises(ValueError, match="not an nbtrack ring"):
        read_ring(path)


def test_file_is_owner_only_allocated_and_named_after_the_log(tmp_path: Path) -> None:
    path = ring_path_for(tmp_path / "run-abc.nbtrack")
    assert path.name == "run-abc.ring"
    ring = RingFile(path, CAP)
    st = os.stat(path)
    assert st.st_mode & 0o777 == 0o600
    assert st.st_size == HEADER_SIZE + CAP and st.st_blocks * 512 >= CAP  # no holes
    ring.close(delete=True)
    assert not path.exists()


def test_full_disk_is_an_oserror_at_creation_not_a_sigbus_later(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        RingFile(Path("/dev/shm") / f"nbtrack-test-{os.getpid()}.ring", 1 << 50)
    assert not (Path("/dev/shm") / f"nbtrack-test-{os.getpid()}.ring").exists()


def test_in_use_while_its_process_lives_free_once_it_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "r.ring"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from nbtrack.txlog.ring import RingFile
        ring = RingFile(Path({str(path)!r}), {CAP})
        print("ready", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert ring_in_use(path)
        child.kill()
        child.wait(10)
        assert not ring_in_use(path)
    finally:
        child.kill()
        child.wait(10)


def test_header_records_the_fsync_point(tmp_path: Path) -> None:
    ring = RingFile(tmp_path / "r.ring", CAP)
    ring.append(KIND_ROW, b"a")
    ring.note_fsync(1, 4242)
    ring.close()
    report, _ = read_ring(tmp_path / "r.ring")
    assert (report.fsync_seq, report.fsync_offset) == (1, 4242)
    raw = (tmp_path / "r.ring").read_bytes()
    assert struct.unpack_from("<Q", raw, 12)[0] == CAP  # capacity where the format says

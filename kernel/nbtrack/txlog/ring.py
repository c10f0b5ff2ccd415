"""The write-ahead ring: what ``log()`` accepted, in the page cache before ``log()`` returns.

Why: a Python queue dies with the process. A shared memory-mapped file does not: when a
process is killed the kernel keeps every page it wrote, so an entry is safe from a
SIGKILL the moment its bytes are in the mapping. Only a machine crash (power, kernel
panic) loses the page cache; the transaction log's fsync points bound that loss.

Layout (binding, see docs/contracts.md)::

    file    = header page (4096 bytes) | data area (capacity bytes, a ring)
    header  = b"NBTRRING" | version u32 | capacity u64 | released_seq u64
              | released_pos u64 | fsync_seq u64 | fsync_offset u64 | boot_id 16 bytes
              (little-endian)
    entry   = length|kind<<28 u32 | 0 u32 (reserved) | seq u64 | payload, 16-aligned

``seq`` numbers the entries 1, 2, 3 ... An entry never straddles the end of the data
area: when it does not fit, a ``WRAP`` entry (no payload, the seq of the entry that
follows it) sends readers back to position 0. The writer fills in the payload first and
the header after it, seq last, so a reader that finds the seq it expects has a complete
entry (a killed process's stores all reach the page cache, in program order); a stale
entry from an earlier lap has a lower seq, which ends a read.

Why no checksum: the page cache survives a process kill intact, so what a same-boot
reader sees is what the process wrote. After a machine crash it does not: pages are
written back independently and a mix of laps could look valid. So the header carries
the boot id of the machine that wrote it, and a ring from an earlier boot is not
trusted at all (the promise after a machine crash is the log up to its last fsync).

``released_seq`` / ``released_pos``: every entry up to that seq is in the transaction log
(handed to the OS), so its space may be reused and recovery starts there. ``fsync_*``:
the last point where the log was fsynced (what survives a machine crash).

One thread at a time appends (the caller holds a lock); :func:`read_ring` reads a ring
file that no process writes any more.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = [
    "KIND_RECORD",
    "KIND_ROW",
    "MARSHAL_VERSION",
    "RingFile",
    "RingReport",
    "boot_id",
    "read_ring",
    "ring_in_use",
    "ring_path_for",
]

MAGIC: Final = b"NBTRRING"
VERSION: Final = 1
HEADER_SIZE: Final = 4096
HEADER: Final = struct.Struct("<8sIQQQQQ16s")
ENTRY: Final = struct.Struct("<IIQ")
ENTRY_SIZE: Final = ENTRY.size  # 16
ALIGN: Final = 16
MAX_PAYLOAD: Final = (1 << 28) - 1

KIND_ROW: Final = 1  # marshal (format 2) of (data, step, commit, timestamp): a log() call
MARSHAL_VERSION: Final = 2  # no back-references: its cost does not depend on refcounts
KIND_RECORD: Final = 2  # a serialized pb.Record
KIND_WRAP: Final = 15  # no payload: continue at position 0
_KINDS: Final = (KIND_ROW, KIND_RECORD, KIND_WRAP)

_RELEASED_AT: Final = struct.calcsize("<8sIQ")  # byte offset of released_seq in the header
_FSYNC_AT: Final = _RELEASED_AT + 16  # byte offset of fsync_seq


def boot_id() -> bytes:
    """This boot of the machine (Linux: /proc/sys/kernel/random/boot_id), 16 bytes."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            text = f.read().strip().replace(b"-", b"")
        return bytes.fromhex(text.decode())[:16].ljust(16, b"\0")
    except (OSError, ValueError):
        return bytes(16)  # unknown: every ring counts as this boot's


def ring_path_for(log_path: Path) -> Path:
    """The ring that belongs to a transaction log: ``run-<id>.nbtrack`` → ``run-<id>.ring``."""
    return log_path.with_suffix(".ring")


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) & ~(ALIGN - 1)


class RingFile:
    """Appends entries to a new ring file; not thread-safe (the caller holds a lock)."""

    __slots__ = ("_fd", "_mm", "_pack", "_release_pos", "capacity",
                 "closed", "head", "path", "released", "released_seq", "seq")

    def __init__(self, path: Path, capacity: int) -> None:
        if capacity < 64 * 1024 or capacity % ALIGN:
            raise ValueError(f"ring capacity {capacity}: at least 64 KiB, a multiple of {ALIGN}")
        self.path = Path(path)
        self.capacity = capacity
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # held while this process may write: recovery never touches a live run's ring
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # allocate every block now: writing to a hole of a mapping on a full disk
            # is a SIGBUS that kills the process, a failed allocation is an OSError here
            os.posix_fallocate(fd, 0, HEADER_SIZE + capacity)
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            self._mm = mmap.mmap(fd, HEADER_SIZE + capacity, flags=flags)
        except BaseException:
            os.close(fd)
            self.path.unlink(missing_ok=True)
            raise
        self._fd = fd
        HEADER.pack_into(self._mm, 0, MAGIC, VERSION, capacity, 0, 0, 0, 0, boot_id())
        self.seq = 0  # the seq of the last entry appended
        self.head = 0  # bytes appended since creation (positions are head % capacity)
        self.released = 0  # bytes released since creation
        self.released_seq = 0
        self.closed = False
        self._release_pos = 0  # absolute position of the first entry not yet released
        self._pack = ENTRY.pack_into

    # -------------------------------------------------------------- writing

    def need(self, payload_len: int) -> int:
        """Ring bytes an entry of ``payload_len`` takes now (a wrap marker included)."""
        n = ENTRY_SIZE + _aligned(payload_len)
        pos = self.head % self.capacity
        return n if pos + n <= self.capacity else n + (self.capacity - pos)

    def free(self) -> int:
        return self.capacity - (self.head - self.released)

    def used(self) -> int:
        return self.head - self.released

    def try_append(self, kind: int, payload: bytes) -> int:
        """Write one entry if it fits now (the hot path: one call); its seq, or 0."""
        n = len(payload)
        size = ENTRY_SIZE + ((n + 15) & ~15)
        cap = self.capacity
        head = self.head
        pos = head % cap
        if pos + size > cap or head + size - self.released > cap:
            return 0 if self.need(n) > self.free() else self.append(kind, payload)
        seq = self.seq + 1
        at = HEADER_SIZE + pos
        mm = self._mm
        mm[at + ENTRY_SIZE:at + ENTRY_SIZE + n] = payload
        self._pack(mm, at, n | (kind << 28), 0, seq)  # after the payload, seq last
        self.seq = seq
        self.head = head + size
        return seq

    def append(self, kind: int, payload: bytes) -> int:
        """Write one entry (the caller checked ``need() <= free()``); returns its seq."""
        mm = self._mm
        cap = self.capacity
        n = len(payload)
        size = ENTRY_SIZE + ((n + 15) & ~15)
        head = self.head
        pos = head % cap
        seq = self.seq + 1
        if pos + size > cap:
            self._pack(mm, HEADER_SIZE + pos, KIND_WRAP << 28, 0, seq)
            head += cap - pos
            pos = 0
        at = HEADER_SIZE + pos
        mm[at + ENTRY_SIZE:at + ENTRY_SIZE + n] = payload
        self._pack(mm, at, n | (kind << 28), 0, seq)
        self.seq = seq
        self.head = head + size
        return seq

    def release_through(self, seq: int) -> None:
        """Every entry up to ``seq`` is in the transaction log: free its space."""
        found = self.find_release(seq)
        if found is not None:
            self.set_released(*found)

    def find_release(self, seq: int) -> tuple[int, int] | None:
        """Where the entries after ``seq`` start: ``(position, seq)`` to hand to
        :meth:`set_released`, or None. Reads only entries written before (immutable until
        released), so the one releasing thread may call it without the appenders' lock."""
        if seq <= self.released_seq or self.closed:
            return None
        seq = min(seq, self.seq)
        mm = self._mm
        cap = self.capacity
        pos = self._release_pos
        cur = self.released_seq
        unpack = ENTRY.unpack_from
        while cur < seq:
            word, _zero, entry_seq = unpack(mm, HEADER_SIZE + pos % cap)
            if word >> 28 == KIND_WRAP:
                pos += cap - pos % cap
                continue
            pos += ENTRY_SIZE + ((word & MAX_PAYLOAD) + 15 & ~15)
            cur = entry_seq
        return pos, cur

    def set_released(self, pos: int, seq: int) -> None:
        """Free the space before ``pos`` (from :meth:`find_release`); the header says where
        recovery starts."""
        if self.closed or seq <= self.released_seq:
            return
        self._release_pos = self.released = pos
        self.released_seq = seq
        struct.pack_into("<QQ", self._mm, _RELEASED_AT, seq, pos % self.capacity)

    def note_fsync(self, seq: int, log_offset: int) -> None:
        """The transaction log was fsynced at ``log_offset``, holding every entry to ``seq``."""
        if not self.closed:
            struct.pack_into("<QQ", self._mm, _FSYNC_AT, seq, log_offset)

    def close(self, *, delete: bool = False) -> None:
        """Unmap; ``delete`` removes the file (everything it held is in the log)."""
        if self.closed:
            return
        self.closed = True
        self._mm.close()
        if delete:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)  # releases the lock


# ------------------------------------------------------------------ reading


@dataclass
class RingEntry:
    seq: int
    kind: int
    payload: bytes


@dataclass
class RingReport:
    """What :func:`read_ring` found after the released point."""

    capacity: int = 0
    released_seq: int = 0
    fsync_seq: int = 0
    fsync_offset: int = 0
    entries: int = 0
    last_seq: int = 0
    stopped: str = ""  # why the read stopped ("end": a seq from an earlier lap or none)
    same_boot: bool = True  # written since the machine last started (else not read)
    problems: list[str] = field(default_factory=list)


def ring_in_use(path: Path) -> bool:
    """True while a live process holds the ring (its lock); a killed one holds nothing."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def read_ring(path: Path) -> tuple[RingReport, list[RingEntry]]:
    """The entries after the released point, in order, up to the first one that is not
    the next complete entry. Raises ValueError when ``path`` is not a ring file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER_SIZE or data[:8] != MAGIC:
        raise ValueError(f"{path} is not an nbtrack ring file")
    _magic, version, cap, rel_seq, rel_pos, fs_seq, fs_off, boot = HEADER.unpack_from(data, 0)
    if version != VERSION:
        raise ValueError(f"{path}: ring version {version} (this nbtrack reads {VERSION})")
    if len(data) < HEADER_SIZE + cap or rel_pos >= max(cap, 1):
        raise ValueError(f"{path}: the ring file is shorter than its capacity says")
    report = RingReport(capacity=cap, released_seq=rel_seq, fsync_seq=fs_seq,
                        fsync_offset=fs_off, last_seq=rel_seq, same_boot=boot == boot_id())
    if not report.same_boot:
        report.stopped = ("written before the machine last started: after a machine crash "
                          "its pages are not trusted (the log up to its last fsync is)")
        return report, []
    entries = list(_scan(data, cap, rel_pos, rel_seq + 1, report))
    report.entries = len(entries)
    return report, entries


def _scan(data: bytes, cap: int, pos: int, expect: int,
          report: RingReport) -> Iterator[RingEntry]:
    walked = 0
    while walked <= cap:
        if pos + ENTRY_SIZE > cap:
            report.stopped = "the data area ends without a wrap marker"
            return
        word, _zero, seq = ENTRY.unpack_from(data, HEADER_SIZE + pos)
        kind, n = word >> 28, word & MAX_PAYLOAD
        if seq != expect or kind not in _KINDS:
            report.stopped = "end"
            return
        if kind == KIND_WRAP:
            walked += cap - pos
            pos = 0
            continue
        start = HEADER_SIZE + pos + ENTRY_SIZE
        if pos + ENTRY_SIZE + n > cap:
            report.stopped = f"entry {seq} is longer than the ring"
            return
        payload = data[start:start + n]
        yield RingEntry(seq, kind, payload)
        report.last_seq = seq
        expect = seq + 1
        size = ENTRY_SIZE + _aligned(n)
        walked += size
        pos = (pos + size) % cap
    report.stopped = "end"

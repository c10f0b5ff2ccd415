"""Reading a transaction log back: records in order, damaged blocks skipped and reported,
a torn tail (a writer killed mid-append) recognized. Format in :mod:`nbtrack.txlog.format`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from google.protobuf.message import DecodeError

from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog.format import (
    BLOCK_SIZE,
    CHUNK_HEADER_SIZE,
    FILE_HEADER,
    FILE_HEADER_SIZE,
    FIRST,
    FULL,
    LAST,
    MAGIC,
    MIDDLE,
    SEGMENT_BLOCKS,
    TYPE_NAMES,
    VERSION,
    crc32,
    unpack_header_from,
)


@dataclass
class Damage:
    """A region of the log that was skipped: ``skipped_bytes`` from file ``offset``."""

    offset: int
    skipped_bytes: int
    reason: str


@dataclass
class ReadReport:
    """What a read found. Filled while iterating; complete once iteration ends."""

    records: int = 0  # records yielded
    bytes_read: int = 0  # file bytes examined (the file size once complete)
    torn_tail: bool = False  # the file ends inside an incomplete write
    damaged: list[Damage] = field(default_factory=list)  # regions skipped mid-file
    recovered_bytes: int = 0  # payload bytes of the records yielded
    torn_offset: int | None = None  # where the torn tail starts
    complete: bool = False  # iteration reached the end of the file

    @property
    def torn_bytes(self) -> int:
        """Bytes at the end of the file that belonged to an incomplete write."""
        return 0 if self.torn_offset is None else self.bytes_read - self.torn_offset

    @property
    def skipped_bytes(self) -> int:
        """Bytes of damaged regions plus the torn tail."""
        return sum(d.skipped_bytes for d in self.damaged) + self.torn_bytes

    @property
    def ok(self) -> bool:
        return not self.torn_tail and not self.damaged

    def summary(self) -> str:
        text = f"{self.records} records ({self.recovered_bytes} bytes) from {self.bytes_read} bytes"
        if self.damaged:
            text += (
                f"; {len(self.damaged)} damaged region(s), "
                f"{sum(d.skipped_bytes for d in self.damaged)} bytes skipped"
            )
        if self.torn_tail:
            text += f"; torn tail of {self.torn_bytes} bytes at offset {self.torn_offset}"
        return text


def _describe_header(head: bytes) -> str:
    if not head:
        return "an empty file"
    return f"{head!r}"


class LogReader:
    """Iterates the payloads (``bytes``) of a transaction log, tolerating damage.

    A wrong file header raises ``ValueError``. After (or during) iteration
    ``report`` says what was read, skipped and whether the tail was torn.
    Iterating again re-reads the file with a fresh report.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.report = ReadReport()

    def __iter__(self) -> Iterator[bytes]:
        for _, payload in self.iter_with_offsets():
            yield payload

    def iter_with_offsets(self) -> Iterator[tuple[int, bytes]]:
        """Yield ``(offset, payload)``; ``offset`` is where the record's first chunk starts."""
        rep = ReadReport()
        self.report = rep
        with open(self.path, "rb") as f:
            head = f.read(FILE_HEADER_SIZE)
            if head != FILE_HEADER:
                if len(head) < FILE_HEADER_SIZE and FILE_HEADER.startswith(head):
                    # Cut inside the header itself: an empty log whose creation was torn.
                    rep.bytes_read = len(head)
                    rep.torn_tail = True
                    rep.torn_offset = 0
                    rep.complete = True
                    return
                if head[: len(MAGIC)] == MAGIC:
                    raise ValueError(
                        f"{self.path}: unsupported transaction log version {head[len(MAGIC)]} "
                        f"(this nbtrack reads version {VERSION})"
                    )
                raise ValueError(
                    f"{self.path} is not an nbtrack transaction log: expected the header "
                    f"{FILE_HEADER!r}, found {_describe_header(head)}"
                )
            yield from self._scan(f, head, rep)

    def _scan(self, f: BinaryIO, head: bytes, rep: ReadReport) -> Iterator[tuple[int, bytes]]:
        read = f.read
        damaged = rep.damaged
        seg_size = SEGMENT_BLOCKS * BLOCK_SIZE
        check = crc32  # a local name: the loop below runs per chunk
        unpack_from = unpack_header_from
        block = BLOCK_SIZE
        hsize = CHUNK_HEADER_SIZE

        parts: list[bytes] | None = None  # chunks of the record in progress
        rec_start = 0  # file offset of the record in progress
        pending_start: int | None = None  # unconfirmed damage: torn tail if nothing follows
        pending_reason = ""
        partial_header_at: int | None = None  # a chunk header cut by the end of the file

        def add_damage(start: int, end: int, reason: str) -> None:
            if end <= start:
                return
            if damaged:
                prev = damaged[-1]
                if prev.offset + prev.skipped_bytes == start:
                    prev.skipped_bytes = end - prev.offset
                    return
            damaged.append(Damage(start, end - start, reason))

        seg = head + read(seg_size - FILE_HEADER_SIZE)
        seg_off = 0
        while seg:
            nseg = len(seg)
            mv = memoryview(seg)
            bstart = 0
            while bstart < nseg:
                bend = bstart + block
                dend = bend if bend <= nseg else nseg
                pos = bstart + FILE_HEADER_SIZE if seg_off + bstart == 0 else bstart
                while True:
                    if dend - pos < hsize:
                        # Block trailer. Shorter than a header in a full block (or in the
                        # last block's padding zone): padding. Otherwise the file ends
                        # inside a chunk header.
                        if pos < dend and bend - pos >= hsize:
                            partial_header_at = seg_off + pos
                        break
                    crc, length, typ = unpack_from(seg, pos)
                    end = pos + hsize + length
                    bad = ""
                    if typ < FULL or typ > LAST:
                        bad = f"invalid chunk type {typ}"
                    elif end > bend:
                        bad = f"chunk length {length} runs past the block end"
                    elif end > dend:
                        bad = "chunk cut short by the end of the file"
                    elif check(mv[pos + 6 : end]) != crc:
                        bad = "checksum mismatch"
                    if bad:
                        if pending_start is None:
                            pending_start = rec_start if parts is not None else seg_off + pos
                            pending_reason = bad
                        parts = None
                        break  # the rest of this block cannot be framed: resync
                    here = seg_off + pos
                    if pending_start is not None:
                        add_damage(pending_start, here, pending_reason)
                        pending_start = None
                    if typ == FULL:
                        if parts is not None:
                            add_damage(rec_start, here, "record interrupted by a new record")
                            parts = None
                        payload = seg[pos + hsize : end]
                        rep.records += 1
                        rep.recovered_bytes += length
                        yield here, payload
                    elif typ == FIRST:
                        if parts is not None:
                            add_damage(rec_start, here, "record interrupted by a new record")
                        parts = [seg[pos + hsize : end]]
                        rec_start = here
                    elif parts is None:
                        add_damage(
                            here,
                            seg_off + end,
                            f"{TYPE_NAMES[typ]} chunk of a record whose start is missing",
                        )
                    elif typ == MIDDLE:
                        parts.append(seg[pos + hsize : end])
                    else:  # LAST
                        parts.append(seg[pos + hsize : end])
                        payload = b"".join(parts)
                        parts = None
                        rep.records += 1
                        rep.recovered_bytes += len(payload)
                        yield rec_start, payload
                    pos = end
                bstart = bend
            mv.release()
            seg_off += nseg
            rep.bytes_read = seg_off
            if nseg < seg_size:
                break
            seg = read(seg_size)

        # End of file: whatever is unfinished is a torn tail.
        if pending_start is not None:
            torn_at: int | None = pending_start
        elif parts is not None:
            torn_at = rec_start
        else:
            torn_at = partial_header_at
        rep.torn_tail = torn_at is not None
        rep.torn_offset = torn_at
        rep.complete = True


class RecordReader:
    """Iterates ``pb.Record`` messages of a log; a payload that does not parse is
    reported as damage (``report.damaged``) instead of raising."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._reader = LogReader(path)
        self.path = self._reader.path
        self.undecodable = 0
        self._it: Iterator[pb.Record] | None = None

    @property
    def report(self) -> ReadReport:
        return self._reader.report

    def __iter__(self) -> Iterator[pb.Record]:
        return self

    def __next__(self) -> pb.Record:
        if self._it is None:
            self._it = self._records()
        return next(self._it)

    def _records(self) -> Iterator[pb.Record]:
        from_string = pb.Record.FromString
        for offset, payload in self._reader.iter_with_offsets():
            try:
                record = from_string(payload)
            except (DecodeError, ValueError, RuntimeError) as exc:
                rep = self._reader.report
                rep.records -= 1
                rep.recovered_bytes -= len(payload)
                self.undecodable += 1
                rep.damaged.append(
                    Damage(offset, len(payload), f"record does not parse: {exc or 'DecodeError'}")
                )
                rep.damaged.sort(key=lambda d: d.offset)
                continue
            yield record


def read_records(path: str | os.PathLike[str]) -> RecordReader:
    """The records of a transaction log, in order (an ``Iterator[pb.Record]`` with a
    ``report`` attribute once iterated)."""
    return RecordReader(path)

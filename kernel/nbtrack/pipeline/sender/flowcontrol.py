"""Flow control: read spilled lines back from the live transaction log instead of memory.

When the network falls behind, the line buffer (``linebuffer.py``) stops holding
lines beyond its budget ("spilling") and remembers from which record number on it
left them in the log. When there is room again the poster reads those records back
from the run's transaction log, which the writer appends to (and flushes at least
once a second) at the same time. :class:`LogTail` reads the log from a file offset
forward and stops at the first chunk that is not complete yet (the writer has not
flushed it); the next call retries from the same record. :func:`read_back` turns
the records of a :class:`RefillRange` into file-stream lines.
"""

from __future__ import annotations

import logging
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from nbtrack.pipeline.sender.linebuffer import RefillRange
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import BLOCK_SIZE, FILE_HEADER
from nbtrack.txlog.format import CHUNK_HEADER_SIZE, FIRST, FULL, LAST, MIDDLE
from nbtrack.wire.files import EVENTS, HISTORY, OUTPUT
from nbtrack.wire.output import format_line

log = logging.getLogger("nbtrack.pipeline.sender.flowcontrol")

_HDR = struct.Struct("<IHB")


class LogTail:
    """Reads whole records from ``offset`` on; remembers where the next record starts."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = len(FILE_HEADER)  # where the next unread record starts
        self.damaged = False

    def records(self) -> Iterator[tuple[pb.Record, int]]:
        """Yield ``(record, end offset)`` from ``self.offset`` on.

        The caller sets ``offset = end`` for each record it is done with, so a record it
        stops at is read again next time.
        """
        try:
            f = open(self.path, "rb")  # noqa: SIM115 (closed in finally)
        except OSError:
            return
        try:
            pos = self.offset
            while True:
                start, end, payload = self._read_one(f, pos)
                if payload is None:
                    return
                pos = end
                rec = pb.Record()
                try:
                    rec.ParseFromString(payload)
                except Exception:
                    log.warning("flow control: a record at offset %d does not parse", start)
                    self.offset = end
                    continue
                yield rec, end
        finally:
            f.close()

    def _read_one(self, f: object, pos: int) -> tuple[int, int, bytes | None]:
        """(record start, offset after it, payload) or payload None when not complete yet."""
        read = f.read  # type: ignore[attr-defined]
        seek = f.seek  # type: ignore[attr-defined]
        parts: list[bytes] = []
        start = -1
        while True:
            left = BLOCK_SIZE - pos % BLOCK_SIZE
            if left < CHUNK_HEADER_SIZE:
                pos += left
                continue
            seek(pos)
            head = read(CHUNK_HEADER_SIZE)
            if len(head) < CHUNK_HEADER_SIZE:
                return start, pos, None
            crc, length, typ = _HDR.unpack(head)
            payload = read(length)
            if len(payload) < length:
                return start, pos, None
            if typ not in (FULL, FIRST, MIDDLE, LAST) or zlib.crc32(
                    bytes([typ]) + payload) != crc:
                # our own live log: an unflushed or damaged chunk; retry later
                if not self.damaged:
                    log.debug("flow control: chunk at %d not readable yet", pos)
                return start, pos, None
            if start < 0:
                start = pos
            pos += CHUNK_HEADER_SIZE + length
            if typ == FULL:
                return start, pos, payload
            parts.append(payload)
            if typ == LAST:
                return start, pos, b"".join(parts)


def record_lines(rec: pb.Record) -> tuple[str, list[str]] | None:
    """The file-stream file and lines a logged record becomes, or None for other records."""
    kind = rec.WhichOneof("record_type")
    if kind == "history":
        return HISTORY, list(rec.history.rows)
    if kind == "stats" and rec.stats.row_json:
        return EVENTS, [rec.stats.row_json]
    if kind == "output":
        o = rec.output
        return OUTPUT, [format_line(o.line, o.stderr, o.timestamp)]
    return None


def read_back(tail: LogTail, want: RefillRange) -> tuple[list[tuple[str, list[str], int]], int]:
    """Read the spilled records ``want.first..want.last`` (up to ``want.room`` bytes).

    Returns ``([(file, lines, bytes), ...], number of the last record read)``; the
    tail's offset moves past every record read, so the next call continues there.
    A record numbered past ``want.last`` is not the sender's yet and is left unread.
    """
    got: list[tuple[str, list[str], int]] = []
    last_num = want.first - 1
    room = want.room
    for rec, end in tail.records():
        if rec.num > want.last:
            break
        tail.offset = end
        if rec.num < want.first:
            continue
        last_num = rec.num
        lines = record_lines(rec)
        if lines is not None and lines[1]:
            nbytes = sum(map(len, lines[1]))
            got.append((lines[0], lines[1], nbytes))
            room -= nbytes
        if rec.num == want.last or room <= 0:
            break
    return got, last_num

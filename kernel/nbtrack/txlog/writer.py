"""Appending to a transaction log (one writer thread owns the file): chunks packed into
32 KiB blocks, flushed and fsynced on demand. The format is in :mod:`nbtrack.txlog.format`."""

from __future__ import annotations

import os
from pathlib import Path

from nbtrack.txlog.format import (
    BLOCK_SIZE,
    CHUNK_HEADER_SIZE,
    CRC_FULL,
    FILE_HEADER,
    FILE_HEADER_SIZE,
    FIRST,
    FULL,
    LAST,
    MIDDLE,
    TYPE_CRC,
    ZERO_HEADER,
    crc32,
    pack_header,
)


class LogWriter:
    """Appends records to a new transaction log; one thread owns an instance.

    ``append`` only builds chunks in memory (a few µs for a 2 KB record);
    ``flush`` hands the buffer to the OS, ``fsync`` makes it durable. The caller
    decides when to flush (``pending_bytes`` tells how much is buffered); ``close``
    flushes what is left. A failed flush keeps the unwritten bytes buffered, so a
    later flush continues exactly where the file stopped.
    """

    def __init__(self, path: str | os.PathLike[str], *, append_at: int | None = None) -> None:
        """A new log, or with ``append_at`` an existing one cut there and continued
        (recovery appends after the last complete record; a torn tail is cut off)."""
        self.path = Path(path)
        self._closed = False
        if append_at is not None and append_at >= FILE_HEADER_SIZE:
            # Unbuffered: our own buffer is the only one, flush() == write to the OS.
            self._f = open(self.path, "r+b", buffering=0)  # noqa: SIM115  (see close())
            self._f.truncate(append_at)
            self._f.seek(append_at)
            self._buf = bytearray()
            self._offset = self._flushed = append_at
            return
        # a new log, or one cut inside its header (recovery): written from the start
        self._f = open(self.path, "xb" if append_at is None else "wb",  # noqa: SIM115
                       buffering=0)
        self._buf = bytearray(FILE_HEADER)
        self._offset = FILE_HEADER_SIZE  # logical size incl. the unflushed buffer
        self._flushed = 0  # bytes handed to the OS
        try:
            self.flush()
        except BaseException:
            self._closed = True
            self._f.close()
            raise

    @property
    def offset(self) -> int:
        """Size of the log in bytes including what is still buffered."""
        return self._offset

    @property
    def flushed_offset(self) -> int:
        """Bytes handed to the OS so far."""
        return self._flushed

    @property
    def pending_bytes(self) -> int:
        """Bytes appended but not yet flushed."""
        return len(self._buf)

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add one record (any byte string, empty allowed) to the buffer."""
        if self._closed:
            raise ValueError(f"append to closed transaction log {self.path}")
        n = len(data)
        off = self._offset
        left = BLOCK_SIZE - off % BLOCK_SIZE
        if n + CHUNK_HEADER_SIZE <= left:  # fast path: one FULL chunk
            buf = self._buf
            buf += pack_header(crc32(data, CRC_FULL), n, FULL)
            buf += data
            self._offset = off + CHUNK_HEADER_SIZE + n
            return
        self._append_split(memoryview(data).cast("B"), off)

    def _append_split(self, mv: memoryview, off: int) -> None:
        buf = self._buf
        n = len(mv)
        pos = 0
        first = True
        while True:
            left = BLOCK_SIZE - off % BLOCK_SIZE
            if left < CHUNK_HEADER_SIZE:
                buf += ZERO_HEADER[:left]
                off += left
                left = BLOCK_SIZE
            frag = min(left - CHUNK_HEADER_SIZE, n - pos)
            last = pos + frag == n
            typ = (FULL if last else FIRST) if first else (LAST if last else MIDDLE)
            piece = mv[pos : pos + frag]
            buf += pack_header(crc32(piece, TYPE_CRC[typ]), frag, typ)
            buf += piece
            off += CHUNK_HEADER_SIZE + frag
            pos += frag
            first = False
            if last:
                break
        self._offset = off

    def flush(self) -> None:
        """Hand the buffered bytes to the OS. On error the unwritten rest stays buffered."""
        buf = self._buf
        if self._closed or not buf:
            return
        written = 0
        try:
            while written < len(buf):
                n = self._f.write(buf if written == 0 else buf[written:])
                written += n or 0
        finally:
            if written:
                del buf[:written]
                self._flushed += written

    def fsync(self) -> None:
        """Flush, then make the file durable."""
        if self._closed:
            return
        self.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        """Flush and close; idempotent. The file is closed even when the flush fails."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._f.close()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<LogWriter {str(self.path)!r} offset={self._offset}>"

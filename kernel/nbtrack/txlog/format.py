"""The transaction log: a block-structured, checksummed record file.

Layout (binding, see docs/contracts.md)::

    file   = header (b"NBTRKLOG" + version byte 1, 9 bytes) then chunks
    blocks = 32 KiB, aligned to file offset 0 (the header sits inside block 0)
    chunk  = crc32 (LE u32) | length (LE u16) | type (u8) | payload[length]

``crc32`` is ``zlib.crc32(type_byte + payload)``. A record is split into chunks
that never cross a block boundary: one FULL chunk, or FIRST, MIDDLE..., LAST.
When fewer than 7 bytes (a chunk header) remain in a block they are zero-filled
and the record continues in the next block. Zero-length records are a FULL
chunk of length 0.

Because the type byte directly precedes the payload, the checksum covers the
contiguous bytes ``chunk[6:7 + length]`` and neither side needs to concatenate.

Recovery: a chunk that fails its checksum or has an impossible length or type
cannot be trusted to frame the rest of its block, so the reader drops the
record in progress and resynchronizes at the next block boundary. A damaged
region that nothing valid follows is a *torn tail* (a process killed mid-write,
or a file cut short): its records were never complete, so it is reported as
``torn_tail`` rather than as damage. A chunk sequence that does not fit (FULL or
FIRST while a record is open, MIDDLE or LAST with none open) has trustworthy
framing, so only the orphaned bytes are skipped and reading continues with the
next chunk.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

MAGIC: Final = b"NBTRKLOG"
VERSION: Final = 1
FILE_HEADER: Final = MAGIC + bytes([VERSION])
FILE_HEADER_SIZE: Final = len(FILE_HEADER)  # 9
BLOCK_SIZE: Final = 32 * 1024
CHUNK_HEADER_SIZE: Final = 7
MAX_CHUNK_PAYLOAD: Final = BLOCK_SIZE - CHUNK_HEADER_SIZE

FULL: Final = 1
FIRST: Final = 2
MIDDLE: Final = 3
LAST: Final = 4
TYPE_NAMES: Final = {FULL: "FULL", FIRST: "FIRST", MIDDLE: "MIDDLE", LAST: "LAST"}

CHUNK_HEADER: Final = struct.Struct("<IHB")
pack_header = CHUNK_HEADER.pack
unpack_header_from = CHUNK_HEADER.unpack_from
crc32 = zlib.crc32
# crc32(type_byte + payload) == crc32(payload, TYPE_CRC[type])
TYPE_CRC: Final = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}
CRC_FULL: Final = TYPE_CRC[FULL]
ZERO_HEADER: Final = bytes(CHUNK_HEADER_SIZE)

# The reader reads this many blocks per system call.
SEGMENT_BLOCKS: Final = 32

"""The run's transaction log: its format (:mod:`.format`), the writer that one thread owns
(:mod:`.writer`), the reader that recovers a torn tail and skips damage (:mod:`.reader`),
and ``nbtrack verify`` (:mod:`.verify`)."""

from nbtrack.txlog.format import BLOCK_SIZE, FILE_HEADER, MAX_CHUNK_PAYLOAD
from nbtrack.txlog.reader import Damage, LogReader, ReadReport, RecordReader, read_records
from nbtrack.txlog.writer import LogWriter

__all__ = [
    "BLOCK_SIZE",
    "FILE_HEADER",
    "MAX_CHUNK_PAYLOAD",
    "Damage",
    "LogReader",
    "LogWriter",
    "ReadReport",
    "RecordReader",
    "read_records",
]

"""The order of a run's updates on the wire: a sequence number per request.

A request can arrive late: held by a proxy past the client's timeout, it reaches the
server after its own retry and after newer updates. So every nbtrack ``upsertBucket``
and ``file_stream`` post carries ``X-Nbtrack-Seq``, a number that grows with every
request of the run, in every process that writes to it (a resume, ``nbtrack sync``):
nanoseconds since the epoch, forced to grow within a process. The server keeps the
number of the last config, summary and state it applied and ignores older ones. A
header, not a field, so W&B servers and the official client are unaffected; requests
without it are applied in arrival order, as W&B does.
"""

from __future__ import annotations

import threading
import time

SEQ_HEADER = "X-Nbtrack-Seq"
MAX_SEQ = 2**63 - 1  # the databases' integers

_lock = threading.Lock()
_last = 0


def next_seq() -> int:
    """A number larger than every one this process gave before (and than the clock's)."""
    global _last
    with _lock:
        _last = max(time.time_ns(), _last + 1)
        return _last


def parse_seq(value: str | None) -> int | None:
    """The header's number, or None when absent or not a positive integer."""
    if not value:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 19:
        return None
    seq = int(value)
    return seq if 0 < seq <= MAX_SEQ else None

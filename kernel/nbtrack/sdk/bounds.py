"""The row and summary bounds of one run, checked in the user's thread.

Why in ``log()`` and not later: a row or a summary over what a ``file_stream`` post may
carry is refused by the server (413) after ``log()`` returned, so its rows are lost with
nobody to tell. Here the call that would pass a bound raises naming the key, and nothing
of it is logged.

Why cheap: the hot path (:meth:`RunBounds.fast`) looks at nothing per value beyond
:func:`~nbtrack.sdk.values.is_plain`, whose plain values are at most ``PLAIN_VALUE_BYTES``
encoded. Each key the summary holds is charged ``key + PLAIN_VALUE_BYTES`` when its value
is plain, its real size when not (a long string, a list); such a key leaves the known set,
so its next call takes :meth:`admit` again and the charge follows the value. The charge
is therefore never below the summary's real size; a plain row's size is bounded by its
number of keys (one comparison).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from nbtrack.sdk.values import PLAIN_STR_CHARS, is_plain
from nbtrack.wire.limits import MAX_CONFIG_BYTES, MAX_ROW_BYTES, MAX_SUMMARY_BYTES

__all__ = ["PLAIN_VALUE_BYTES", "RunBounds", "check_config_size", "encoded_size"]

_escape = json.encoder.encode_basestring_ascii

# a plain value encoded, with room for the aggregates define_metric keeps of a number
# ({"min": x, "max": x, "mean": x, "first": x, "last": x, "best": x}); a plain str is at
# most PLAIN_STR_CHARS x 12 + 2 (a character beyond the BMP is two \\u escapes)
PLAIN_VALUE_BYTES = 200
assert PLAIN_STR_CHARS * 12 + 2 <= PLAIN_VALUE_BYTES
_ROW_OVERHEAD = 100  # {"_step": ..., "_runtime": ..., "_timestamp": ...}
_MAX_KNOWN = 100_000


def encoded_size(value: Any) -> int:
    """The bytes of ``value`` in a row's JSON text (an upper bound for numbers)."""
    kind = type(value)
    if kind is str:
        return len(_escape(value))
    if kind is float or kind is int:
        return 24  # repr of a float is at most 24 characters; an int64 at most 20
    if value is None or kind is bool:
        return 5
    if kind is list:
        return 2 + sum(encoded_size(v) + 1 for v in value)
    if isinstance(value, Mapping):
        return 2 + sum(len(_escape(str(k))) + encoded_size(v) + 2 for k, v in value.items())
    return len(json.dumps(value, default=str))


class RunBounds:
    """Known keys (the hot path) and what the summary is charged per key."""

    def __init__(self) -> None:
        self.known: set[str] = set()
        self._charge: dict[str, int] = {}
        self.summary_bytes = 2
        self._key_bytes = 2  # the longest known key encoded
        self.plain_keys = self._plain_limit()
        self._lock = threading.Lock()

    def _plain_limit(self) -> int:
        return (MAX_ROW_BYTES - _ROW_OVERHEAD) // (self._key_bytes + 2 + PLAIN_VALUE_BYTES)

    def fast(self, data: dict[Any, Any]) -> bool:
        """True when ``data`` can be published as is: every bound holds without a look.
        (``Run.log`` inlines it: a method call is a tenth of the hot path.)"""
        return len(data) <= self.plain_keys and is_plain(data, self.known)

    def admit(self, data: dict[str, Any]) -> None:
        """Check a normalized row against the row and summary bounds, then charge it;
        ValueError naming the key, nothing charged, when a bound would be passed."""
        row = _ROW_OVERHEAD
        sizes = {}
        for key, value in data.items():
            kb, vb = len(_escape(key)), encoded_size(value)
            row += kb + vb + 2
            if row > MAX_ROW_BYTES:
                raise ValueError(
                    f"key {key!r}: the row is over {MAX_ROW_BYTES:,} bytes encoded with this "
                    "key, more than one row may carry; log fewer or smaller values per call "
                    "or save big ones as files (run.save)")
            sizes[key] = (kb, vb)
        self._charge_summary(sizes)

    def admit_summary(self, data: dict[str, Any]) -> None:
        """A write to ``run.summary``: charged like a logged value."""
        self._charge_summary({k: (len(_escape(k)), encoded_size(v)) for k, v in data.items()})

    def _charge_summary(self, sizes: dict[str, tuple[int, int]]) -> None:
        with self._lock:
            charge = self._charge
            new = {k: kb + 2 + max(vb, PLAIN_VALUE_BYTES) for k, (kb, vb) in sizes.items()}
            total = self.summary_bytes + sum(c - charge.get(k, 0) for k, c in new.items())
            if total > MAX_SUMMARY_BYTES:
                worst = max(new, key=lambda k: new[k] - charge.get(k, 0))
                raise ValueError(
                    f"key {worst!r}: the run's summary (the last value of every key) would "
                    f"reach {total:,} bytes, more than {MAX_SUMMARY_BYTES:,}; log big values "
                    "under fewer keys, or save them as files (run.save)")
            charge.update(new)
            self.summary_bytes = total
            known = self.known
            for key, (kb, vb) in sizes.items():
                if vb > PLAIN_VALUE_BYTES:
                    known.discard(key)  # its next value is charged again
                elif key not in known and len(known) < _MAX_KNOWN:
                    known.add(key)
                    if kb + 2 > self._key_bytes:
                        self._key_bytes = kb + 2
                        self.plain_keys = self._plain_limit()


def check_config_size(config: Mapping[str, Any]) -> None:
    """ValueError naming the largest key when the config encoded is over its bound."""
    size = encoded_size(config)
    if size > MAX_CONFIG_BYTES:
        worst = max(config, key=lambda k: encoded_size(config[k]))
        raise ValueError(f"config key {worst!r}: the config would be {size:,} bytes encoded, "
                         f"more than {MAX_CONFIG_BYTES:,}; save big values as files")

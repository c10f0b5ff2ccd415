"""The widget's ``media`` trait: the newest media value of each key, from the run's summary.

Why the summary: it holds the last value of every key the kernel logged (a W&B media value
as the history row carries it, ``{"_type": "image-file", "path": ...}``), one mailbox
round trip for all keys, and it is what is newest. The trait carries only what the front
end draws from (paths, captions, sizes, a histogram's bins): never pixels, so a message's
size does not grow with the image; the front end loads the file by URL from the tracking
server (through Jupyter) and asks the server for older steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbtrack.wire.mediatypes import kind_of

__all__ = ["MAX_KEYS", "media_of"]

MAX_KEYS = 50  # keys shown in the widget (the run page shows them all)
MAX_BINS = 512  # W&B's own histogram limit
MAX_FILES = 32  # images of a gallery
_FIELDS = {
    "image": ("path", "caption", "width", "height", "format"),
    "images": ("filenames", "captions", "count", "width", "height", "format"),
    "histogram": ("bins", "values"),
    "table": ("path", "nrows", "ncols"),
    "file": ("path",),
}


def _small(kind: str, value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "_type": value["_type"]}
    for name in _FIELDS[kind]:
        v = value.get(name)
        if isinstance(v, list):
            v = v[: MAX_FILES if kind != "histogram" else MAX_BINS + (name == "bins")]
        if v is not None:
            out[name] = v
    return out


def media_of(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{key: {"kind", "_type", ...the fields drawn}}`` of the media values in ``summary``
    (sorted by key, at most :data:`MAX_KEYS`)."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(k for k in summary if isinstance(k, str)):
        value = summary[key]
        kind = kind_of(value)
        if kind is not None:
            out[key] = _small(kind, value)
            if len(out) >= MAX_KEYS:
                break
    return out

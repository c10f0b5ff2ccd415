"""Which stored run files a browser may show inline, and as what content type.

Standard library only: the tracking server, its pages and the Jupyter proxy all ask here.
Only raster images and JSON are shown inline (an ``<img>`` of a logged PNG, a table's JSON
fetched by the pages); everything else (SVG and HTML can carry script) goes out as an
``application/octet-stream`` attachment, always with ``nosniff``.
"""

from __future__ import annotations

__all__ = ["INLINE", "inline_type"]

INLINE = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".json": "application/json",
}


def inline_type(name: str) -> str | None:
    """The content type to show file ``name`` inline with, or None (a download)."""
    dot = name.rfind(".")
    return None if dot < 0 or "/" in name[dot:] else INLINE.get(name[dot:].lower())

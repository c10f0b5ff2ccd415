"""Media in W&B's history encoding: the kinds of ``_type`` and which stored run files a
browser may show inline, and as what content type.

Standard library only: the tracking server, its pages and the Jupyter proxy all ask here.
Only raster images and JSON are shown inline (an ``<img>`` of a logged PNG, a table's JSON
fetched by the pages); everything else (SVG and HTML can carry script) goes out as an
``application/octet-stream`` attachment, always with ``nosniff``.
"""

from __future__ import annotations

__all__ = ["INLINE", "KINDS", "inline_type", "kind_of"]

# W&B's history ``_type`` → the kind the pages and the widget draw
KINDS = {
    "image-file": "image",
    "images/separated": "images",
    "histogram": "histogram",
    "table-file": "table",
    "incremental-table-file": "table",
    "audio-file": "file",
    "video-file": "file",
    "html-file": "file",
    "plotly-file": "file",
    "object3D-file": "file",
    "molecule-file": "file",
    "bokeh-file": "file",
}

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


def kind_of(value: object) -> str | None:
    """The media kind of a history value (``image``, ``images``, ...), None for the rest."""
    if isinstance(value, dict):
        t = value.get("_type")
        if isinstance(t, str):
            return KINDS.get(t)
    return None

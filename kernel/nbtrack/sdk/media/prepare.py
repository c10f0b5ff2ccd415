"""``log()``'s media step: check and copy every media value of a row, then hand them on.

Runs after :func:`nbtrack.sdk.values.normalize` kept the media objects as they are. All
values are prepared before anything is submitted, so a bad one raises (naming its key)
with nothing of the call logged. Histograms become their W&B dict here; images, galleries
and tables become jobs for the media worker and a marker in the row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbtrack.pipeline.media.jobs import MEDIA_FLAG, FileJob, GalleryJob, ImageJob, Job, TableJob
from nbtrack.sdk.media.base import Media
from nbtrack.sdk.media.image import Image, image_job, is_figure
from nbtrack.sdk.media.table import Table

__all__ = ["ESTIMATE", "MAX_GALLERY", "estimated", "is_media", "is_plotly", "prepare_values",
           "submit_row"]

MAX_GALLERY = 1000
# what one file's history value takes in the row (path, sha256, sizes): for the row bounds
ESTIMATE = {"_type": "image-file", "path": "m" * 120, "sha256": "0" * 64, "size": 0,
            "format": "png", "width": 0, "height": 0}


def is_plotly(value: Any) -> bool:
    """A plotly Figure (by type name: plotly is not imported for it)."""
    return any(c.__module__.startswith("plotly.") and c.__name__ == "BaseFigure"
               for c in type(value).__mro__)


def is_media(value: Any) -> bool:
    """A value ``log()`` stores as media: kept by normalize for :func:`prepare_values`."""
    if isinstance(value, Media) or is_figure(value) or is_plotly(value):
        return True
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], Image):
        return True
    module = type(value).__module__
    return module.startswith("pandas.") and type(value).__name__ == "DataFrame"


def _prepare(key: str, value: Any) -> Job | dict[str, Any]:
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, Image) for v in value):
            raise TypeError(f"key {key!r}: a list of Images may hold only nbtrack.Image")
        if len(value) > MAX_GALLERY:
            raise ValueError(f"key {key!r}: a gallery of {len(value)} images is more than "
                             f"{MAX_GALLERY}")
        return GalleryJob([image_job(f"{key}[{i}]", v) for i, v in enumerate(value)])
    if isinstance(value, Media):
        return value._prepare(key)
    if is_figure(value):
        return image_job(key, value)
    if is_plotly(value):
        try:  # serialized here: the figure is the caller's and may change after log()
            text = value.to_json()
        except Exception as exc:
            raise ValueError(f"key {key!r}: the plotly figure cannot be written as JSON "
                             f"({exc})") from None
        return FileJob(text.encode(), ".plotly.json")
    return Table(dataframe=value)._prepare(key)


def prepare_values(data: dict[str, Any], keys: list[str]) -> dict[str, Job | dict[str, Any]]:
    """Every media value under ``keys`` checked and copied (nothing handed on yet);
    TypeError / ValueError / ImportError naming the first bad key."""
    return {key: _prepare(key, data[key]) for key in keys}


def submit_row(data: dict[str, Any], prepared: dict[str, Job | dict[str, Any]],
               submit: Callable[[Job], Any] | None) -> dict[str, Any]:
    """``data`` with the prepared values in place: jobs handed to ``submit`` (which returns
    the row's marker; None: a disabled run, nothing is kept)."""
    out = dict(data)
    jobs = False
    for key, value in prepared.items():
        if isinstance(value, (ImageJob, GalleryJob, TableJob, FileJob)):
            out[key] = submit(value) if submit is not None else None
            jobs = True
        else:
            out[key] = value
    if jobs and submit is not None:
        out[MEDIA_FLAG] = True
    return out


def estimated(data: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``data`` with each media value as about the size its history value will have."""
    return {**data, **{k: ESTIMATE for k in keys}}

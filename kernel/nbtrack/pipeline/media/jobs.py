"""What the user thread hands the media worker, and how a row points at it.

A ``log()`` call holding media keeps, in place of each value, a marker
``(MEDIA_TAG, job_id)`` (marshal-able, so the write-ahead ring holds the call like any
other) and the row gets the flag key :data:`MEDIA_FLAG`, so the handler's hot path tests
one dict key instead of every value. The job itself (pixels already copied, validated)
goes to :class:`~nbtrack.pipeline.media.worker.MediaWorker`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MEDIA_FLAG", "MEDIA_TAG", "FileJob", "GalleryJob", "ImageJob", "Job", "TableJob",
           "is_marker"]

MEDIA_FLAG = "\x00media"  # a key no user key can be (keys are checked: no NUL)
MEDIA_TAG = "\x00nbtrack-media"


def is_marker(value: Any) -> bool:
    return type(value) is tuple and len(value) == 2 and value[0] == MEDIA_TAG


@dataclass
class ImageJob:
    """One image: ``pixels`` (H x W x C uint8, C-contiguous, a private copy) or ``png``
    (the bytes of a PNG file already encoded, e.g. a path the user gave)."""

    width: int
    height: int
    pixels: Any = None  # numpy.ndarray | None
    png: bytes | None = None
    caption: str | None = None

    @property
    def nbytes(self) -> int:
        if self.png is not None:
            return len(self.png) + 256
        return int(self.pixels.nbytes) + 256


@dataclass
class GalleryJob:
    """A list of images under one key (W&B's ``images/separated``)."""

    images: list[ImageJob]

    @property
    def nbytes(self) -> int:
        return sum(i.nbytes for i in self.images)


@dataclass
class TableJob:
    """A table: ``rows`` of plain JSON values; an image cell is ``(MEDIA_TAG, i)``, the
    ``i``-th of ``images``."""

    columns: list[str]
    rows: list[list[Any]]
    images: list[ImageJob] = field(default_factory=list)
    text_bytes: int = 0  # an estimate of the table's JSON size

    @property
    def nbytes(self) -> int:
        return self.text_bytes + sum(i.nbytes for i in self.images)


@dataclass
class FileJob:
    """A file whose bytes the user thread made already (a plotly figure's JSON): the
    worker only hashes and writes it."""

    data: bytes
    suffix: str  # ".plotly.json"

    @property
    def nbytes(self) -> int:
        return len(self.data) + 256


Job = ImageJob | GalleryJob | TableJob | FileJob

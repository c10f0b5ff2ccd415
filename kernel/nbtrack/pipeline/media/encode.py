"""Encoding in the media worker: PNG by Pillow, table JSON, each file written once.

Files are written under a private temporary directory and named by content there; the
handler renames them to W&B's ``media/...`` names once the row's step is known
(:mod:`~nbtrack.pipeline.media.resolve`). Table images are content-addressed
(``media/images/<sha20>.png``), so they go to their final place at once.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbtrack.pipeline.media.jobs import MEDIA_TAG, FileJob, GalleryJob, ImageJob, TableJob
from nbtrack.wire.strictjson import finite

# zlib level 1: about twice as fast as Pillow's default 6 on photos and predictions, files
# ~10-30% larger; encoding time is what the training loop shares the GIL with
PNG_LEVEL = 1

__all__ = ["PNG_LEVEL", "Encoded", "EncodedFile", "EncodedImage", "EncodedTable", "encode_job",
           "png_bytes", "sha256_hex"]


@dataclass
class Encoded:
    """A file the worker wrote: where it is now, its digest and size."""

    tmp: Path
    sha256: str
    size: int


@dataclass
class EncodedImage(Encoded):
    width: int
    height: int
    caption: str | None


@dataclass
class EncodedTable(Encoded):
    ncols: int
    nrows: int
    image_files: list[Path]  # the table's images, already at their final path


def png_bytes(job: ImageJob) -> bytes:
    """The PNG file of an image job (Pillow, its default compression)."""
    if job.png is not None:
        return job.png
    from PIL import Image as PILImage  # the sdk checked that Pillow is there

    pixels = job.pixels
    image = PILImage.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels)
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=PNG_LEVEL)
    return buf.getvalue()


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
# hashlib gives the GIL up for inputs of 2048 bytes or more; the worker then waits for a
# switch interval (5 ms) to get it back from a busy training loop, so it hashes in pieces
_HASH_PIECE = 2047


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data``, fed in pieces that keep the GIL (see ``_HASH_PIECE``)."""
    h = hashlib.sha256()
    view = memoryview(data)
    for i in range(0, len(view), _HASH_PIECE):
        h.update(view[i:i + _HASH_PIECE])
    return h.hexdigest()


def _write(path: Path, data: bytes, *, atomic: bool = False) -> None:
    """Write ``data`` to ``path`` in three system calls (each one gives the GIL up).

    The private temporary directory needs no care (no row names its files before they are
    whole); ``atomic`` files (at their final path at once) appear whole or not at all.
    """
    part = path.with_name(path.name + ".part") if atomic else path
    try:
        fd = os.open(part, _FLAGS, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, _FLAGS, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    if atomic:
        os.replace(part, path)


def _image(job: ImageJob, tmp_dir: Path, name: str) -> EncodedImage:
    data = png_bytes(job)
    digest = sha256_hex(data)
    path = tmp_dir / f"{name}.png"
    _write(path, data)
    return EncodedImage(path, digest, len(data), job.width, job.height, job.caption)


def _table_image(job: ImageJob, files_dir: Path) -> tuple[dict[str, Any], Path]:
    data = png_bytes(job)
    digest = sha256_hex(data)
    rel = f"media/images/{digest[:20]}.png"
    path = files_dir / rel
    if not path.exists():
        _write(path, data, atomic=True)  # at its final path at once: named by content
    cell: dict[str, Any] = {"_type": "image-file", "path": rel, "sha256": digest,
                            "size": len(data), "format": "png", "width": job.width,
                            "height": job.height}
    if job.caption is not None:
        cell["caption"] = job.caption
    return cell, path


def _table(job: TableJob, tmp_dir: Path, files_dir: Path, name: str) -> EncodedTable:
    cells = [_table_image(i, files_dir) for i in job.images]
    rows = [[cells[v[1]][0] if type(v) is tuple and v[0] == MEDIA_TAG else v for v in row]
            for row in job.rows]
    body = {"columns": job.columns, "data": rows}
    try:
        text = json.dumps(body, allow_nan=False, separators=(",", ":"))
    except ValueError:  # NaN / inf cells travel as the wire's strings, as rows do
        text = json.dumps(finite(body), allow_nan=False, separators=(",", ":"))
    data = text.encode()
    path = tmp_dir / f"{name}.table.json"
    _write(path, data)
    return EncodedTable(path, sha256_hex(data), len(data), len(job.columns),
                        len(job.rows), [p for _, p in cells])


@dataclass
class EncodedFile(Encoded):
    suffix: str


def encode_job(job: ImageJob | GalleryJob | TableJob | FileJob, tmp_dir: Path, files_dir: Path,
               name: str) -> Any:
    """The files of one job: an EncodedImage, a list of them, an EncodedTable or an
    EncodedFile."""
    if isinstance(job, FileJob):
        path = tmp_dir / f"{name}{job.suffix}"
        _write(path, job.data)
        return EncodedFile(path, sha256_hex(job.data), len(job.data), job.suffix)
    if isinstance(job, ImageJob):
        return _image(job, tmp_dir, name)
    if isinstance(job, GalleryJob):
        return [_image(image, tmp_dir, f"{name}-{i}") for i, image in enumerate(job.images)]
    return _table(job, tmp_dir, files_dir, name)

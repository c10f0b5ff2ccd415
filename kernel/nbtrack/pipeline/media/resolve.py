"""The handler's side of media: a committed row's markers become W&B's history values.

When :class:`~nbtrack.pipeline.handler.rows.Rows` commits a row holding
:data:`~nbtrack.pipeline.media.jobs.MEDIA_FLAG`, its step is known: each marker's result
is taken from the worker, its file renamed into the run's files directory under W&B's
name (``media/images/<key>_<step>_<sha20>.png``, ``media/table/<key>_<step>_<sha20>.table.json``)
and the value replaced by W&B's dict. The file is in place before the row is serialized,
so no row in the transaction log references a file that is not there; the handler emits
the files (one ``FilesRecord`` per batch) before the batch's history record, so a replay
uploads them too. Without a worker (recovery from the ring after a kill mid-encode) the
media values of the row are dropped with a warning naming their keys; its scalars stay.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbtrack.pipeline.media.encode import EncodedFile, EncodedImage, EncodedTable
from nbtrack.pipeline.media.jobs import MEDIA_FLAG, is_marker
from nbtrack.pipeline.media.worker import MediaFailed, MediaWorker
from nbtrack.proto import nbtrack_pb2 as pb

__all__ = ["MediaResolver", "drop_media", "safe_key"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+-]")


def safe_key(key: str) -> str:
    """``key`` as a relative file path: W&B keeps ``/`` as folders; any other character
    outside ``[A-Za-z0-9._=+-]`` becomes ``_`` and no part can be ``..`` or empty."""
    parts = []
    for part in key.split("/"):
        part = _UNSAFE.sub("_", part)[:120]
        parts.append("_" if part in ("", ".", "..") else part)
    return "/".join(parts)


def drop_media(data: dict[str, Any], step: int, warn: Callable[[str], None]) -> dict[str, Any]:
    """A row's media values dropped (no worker holds their files), the rest kept."""
    keys = [k for k, v in data.items() if is_marker(v)]
    if keys:
        warn(f"the media of {', '.join(sorted(keys))} at step {step} was not encoded "
             "before the run stopped and is not in the run (its other values are)")
    return {k: v for k, v in data.items() if k != MEDIA_FLAG and not is_marker(v)}


class MediaResolver:
    """Turns markers into values for one run; collects the files to upload."""

    def __init__(self, worker: MediaWorker, files_dir: Path, warn: Callable[[str], None]) -> None:
        self._worker = worker
        self._files_dir = files_dir
        self._warn = warn
        self._files: list[pb.FileItem] = []
        self._shared: set[str] = set()  # content-addressed table images handed on already
        # directories made already: a mkdir of an existing directory costs as much as the
        # rename itself on a slow disk (profiled: a third of the handler's media time)
        self._made: set[Path] = set()

    def take_files(self) -> list[pb.FileItem]:
        files, self._files = self._files, []
        return files

    def __call__(self, data: dict[str, Any], step: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == MEDIA_FLAG:
                continue
            if not is_marker(value):
                out[key] = value
                continue
            result = self._worker.take(value[1])
            try:
                if isinstance(result, MediaFailed):
                    raise result
                out[key] = self._place(key, step, result)
            except Exception as exc:
                self._warn(f"key {key!r} at step {step}: the media could not be stored "
                           f"({exc}); the row's other values are logged")
        return out

    def _move(self, tmp: Path, rel: str) -> None:
        target = self._files_dir / rel
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        os.replace(tmp, target)
        self._files.append(pb.FileItem(path=str(target), name=rel, policy="now"))

    def _image(self, key: str, step: int, enc: EncodedImage) -> dict[str, Any]:
        rel = f"media/images/{safe_key(key)}_{step}_{enc.sha256[:20]}.png"
        self._move(enc.tmp, rel)
        value: dict[str, Any] = {"_type": "image-file", "path": rel, "sha256": enc.sha256,
                                 "size": enc.size, "format": "png", "width": enc.width,
                                 "height": enc.height}
        if enc.caption is not None:
            value["caption"] = enc.caption
        return value

    def _place(self, key: str, step: int, result: Any) -> dict[str, Any]:
        if isinstance(result, EncodedImage):
            return self._image(key, step, result)
        if isinstance(result, list):  # a gallery
            images = [self._image(key, step, enc) for enc in result]
            value: dict[str, Any] = {
                "_type": "images/separated", "width": result[0].width,
                "height": result[0].height, "format": "png", "count": len(result),
                "filenames": [i["path"] for i in images]}
            if any(enc.caption is not None for enc in result):
                value["captions"] = [enc.caption or "" for enc in result]
            return value
        if isinstance(result, EncodedFile):  # a plotly figure's JSON
            rel = f"media/plotly/{safe_key(key)}_{step}_{result.sha256[:20]}{result.suffix}"
            self._move(result.tmp, rel)
            return {"_type": "plotly-file", "path": rel, "sha256": result.sha256,
                    "size": result.size}
        assert isinstance(result, EncodedTable)
        for path in result.image_files:
            name = path.relative_to(self._files_dir).as_posix()
            if name not in self._shared:
                self._shared.add(name)
                self._files.append(pb.FileItem(path=str(path), name=name, policy="now"))
        rel = f"media/table/{safe_key(key)}_{step}_{result.sha256[:20]}.table.json"
        self._move(result.tmp, rel)
        return {"_type": "table-file", "path": rel, "sha256": result.sha256,
                "size": result.size, "ncols": result.ncols, "nrows": result.nrows,
                "log_mode": "IMMUTABLE"}

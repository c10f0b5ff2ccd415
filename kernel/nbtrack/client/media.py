"""Media values read back through :class:`nbtrack.Api`: history values that fetch their file.

A history row's W&B media dict (``image-file``, ``images/separated``, ``table-file``,
``plotly-file``, ``histogram``) comes back as one of these objects; ``.json`` is the dict
as stored, and ``value["path"]`` still reads it. Files are fetched from the server's run file route
(``GET /api/v1/runs/<entity>/<project>/<id>/files/<name>``) when first asked for.
Pillow (``to_pil`` / ``to_numpy``) and pandas (``to_pandas``) are imported only then.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nbtrack.wire.strictjson import decode

__all__ = ["HistogramValue", "ImageFile", "ImageGallery", "MediaValue", "PlotlyFile", "TableFile",
           "media_value", "wrap_row"]

Fetch = Callable[[str], bytes]


class MediaValue:
    """A media history value: ``json`` (the stored dict), indexable like it."""

    def __init__(self, data: dict[str, Any], fetch: Fetch) -> None:
        self.json = data
        self._fetch = fetch

    def __getitem__(self, key: str) -> Any:
        return self.json[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.json.get(key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MediaValue):
            return self.json == other.json
        return self.json == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<nbtrack.{type(self).__name__} {self.json.get('path', '')}>"


class _File(MediaValue):
    """A value backed by one file of the run."""

    @property
    def path(self) -> str:
        return str(self.json["path"])

    def read(self) -> bytes:
        """The file's bytes, fetched once and kept."""
        cached = getattr(self, "_bytes", None)
        if cached is None:
            cached = self._bytes = self._fetch(self.path)
        return cached

    def download(self, root: str | Path = ".") -> Path:
        """Write the file under ``root`` at its run path (``media/...``); its path."""
        target = Path(root) / self.path
        root_resolved = Path(root).resolve()
        if root_resolved not in target.resolve().parents:
            raise ValueError(f"{self.path!r}: a media path must stay inside {root}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.read())
        return target


class ImageFile(_File):
    """An ``image-file`` value: ``width``, ``height``, ``caption``, ``to_pil``, ``to_numpy``."""

    width = property(lambda self: self.json.get("width"))
    height = property(lambda self: self.json.get("height"))
    caption = property(lambda self: self.json.get("caption"))

    def to_pil(self) -> Any:
        try:
            from PIL import Image as PILImage
        except ImportError:
            raise ImportError("reading images needs Pillow: pip install 'nbtrack[media]'"
                              ) from None
        image = PILImage.open(io.BytesIO(self.read()))
        image.load()
        return image

    def to_numpy(self) -> Any:
        """The pixels: H x W (grey), H x W x 3 or H x W x 4, uint8."""
        import numpy as np

        return np.asarray(self.to_pil())


class ImageGallery(MediaValue):
    """An ``images/separated`` value: a list of :class:`ImageFile`."""

    @property
    def images(self) -> list[ImageFile]:
        captions = self.json.get("captions") or []
        out = []
        for i, name in enumerate(self.json.get("filenames") or []):
            item = {"_type": "image-file", "path": name, "width": self.json.get("width"),
                    "height": self.json.get("height"), "format": self.json.get("format")}
            if i < len(captions):
                item["caption"] = captions[i]
            out.append(ImageFile(item, self._fetch))
        return out

    def __len__(self) -> int:
        return int(self.json.get("count") or len(self.json.get("filenames") or []))

    def __iter__(self) -> Iterator[ImageFile]:
        return iter(self.images)

    def download(self, root: str | Path = ".") -> list[Path]:
        return [image.download(root) for image in self.images]


class TableFile(_File):
    """A ``table-file`` value: ``columns``, ``data`` (image cells as :class:`ImageFile`),
    ``to_pandas``."""

    def _table(self) -> dict[str, Any]:
        cached = getattr(self, "_parsed", None)
        if cached is None:
            raw = decode(json.loads(self.read()))
            raw["data"] = [[media_value(c, self._fetch) for c in row] for row in raw["data"]]
            cached = self._parsed = raw
        return cached

    @property
    def columns(self) -> list[str]:
        return list(self._table()["columns"])

    @property
    def data(self) -> list[list[Any]]:
        return [list(row) for row in self._table()["data"]]

    def to_pandas(self) -> Any:
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame(self.data, columns=self.columns)


class PlotlyFile(_File):
    """A ``plotly-file`` value: the figure's JSON (``to_dict``), or the figure (``to_plotly``)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(json.loads(self.read()))

    def to_plotly(self) -> Any:
        try:
            import plotly.io as pio
        except ImportError:
            raise ImportError("to_plotly needs plotly: pip install plotly") from None
        return pio.from_json(self.read().decode())


class HistogramValue(MediaValue):
    """A ``histogram`` value: ``bins`` (edges, one more than counts) and ``values``."""

    bins = property(lambda self: list(self.json["bins"]))
    values = property(lambda self: list(self.json["values"]))


_TYPES: dict[str, type[MediaValue]] = {
    "image-file": ImageFile, "images/separated": ImageGallery, "table-file": TableFile,
    "histogram": HistogramValue, "plotly-file": PlotlyFile,
}


def media_value(value: Any, fetch: Fetch) -> Any:
    """``value`` as a media object when it is a media dict (with a path where one is needed)."""
    if type(value) is dict:
        kind = _TYPES.get(value.get("_type"))  # type: ignore[arg-type]
        if kind is not None and (kind in (HistogramValue, ImageGallery) or "path" in value):
            return kind(value, fetch)
    return value


def wrap_row(row: dict[str, Any], fetch: Fetch) -> dict[str, Any]:
    """A history row with its media values as objects (other values untouched)."""
    for key, value in row.items():
        if type(value) is dict:
            row[key] = media_value(value, fetch)
    return row

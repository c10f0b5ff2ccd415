"""``nbtrack.Image``: an image from a NumPy array, a PIL image, a file or a matplotlib figure.

Nothing is read at construction: ``log()`` checks the data and copies it (the caller may
reuse the array), raising an error naming the key. Arrays: H x W or H x W x C with C in
1, 3, 4; uint8 (other integers in [0, 255] too), or floats in [0, 1] (scaled by 255 and
rounded, as W&B does), or bools; at most
:data:`~nbtrack.sdk.media.base.MAX_PIXELS` pixels, checked before any copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nbtrack.pipeline.media.jobs import ImageJob
from nbtrack.sdk.media.base import MAX_PIXELS, Media, require_pillow

__all__ = ["Image", "image_job", "is_figure"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_MODES = {"L": 1, "RGB": 3, "RGBA": 4}


def is_figure(value: Any) -> bool:
    """A matplotlib Figure (checked by type name: matplotlib is not imported for it)."""
    return any(c.__module__.startswith("matplotlib.") and c.__name__ == "Figure"
               for c in type(value).__mro__)


class Image(Media):
    """An image to log: ``run.log({"sample": nbtrack.Image(array, caption="a cat")})``.

    ``mode`` ("L", "RGB", "RGBA") says how to read the array's channels when it is given;
    a PIL image is converted to it.
    """

    def __init__(self, data: Any, caption: str | None = None, mode: str | None = None) -> None:
        if caption is not None and not isinstance(caption, str):
            raise TypeError(f"Image caption must be a string, not {type(caption).__name__}")
        if mode is not None and mode not in _MODES:
            raise ValueError(f"Image mode must be one of {', '.join(_MODES)}, not {mode!r}")
        self._data = data
        self.caption = caption
        self.mode = mode

    def __repr__(self) -> str:
        return f"<nbtrack.Image {type(self._data).__name__} caption={self.caption!r}>"

    def _prepare(self, key: str) -> ImageJob:
        return image_job(key, self._data, self.caption, self.mode)


def _check_pixels(key: str, height: int, width: int) -> None:
    if height * width > MAX_PIXELS:
        raise ValueError(f"key {key!r}: an image of {width} x {height} = {width * height:,} "
                         f"pixels is larger than the limit of {MAX_PIXELS:,}; log a smaller "
                         "image (or several)")
    if height == 0 or width == 0:
        raise ValueError(f"key {key!r}: an image of {width} x {height} pixels is empty")


def _from_array(key: str, array: Any, caption: str | None, mode: str | None) -> ImageJob:
    import numpy as np

    shape = getattr(array, "shape", None)
    if shape is None:
        array = np.asarray(array)
        shape = array.shape
    if len(shape) == 3 and shape[2] in (1, 3, 4):
        height, width, channels = shape
    elif len(shape) == 2:
        (height, width), channels = shape, 1
    else:
        raise ValueError(f"key {key!r}: an image array must be H x W or H x W x C with C in "
                         f"1, 3, 4; this one has shape {tuple(shape)}")
    _check_pixels(key, int(height), int(width))  # before any copy: a huge array fails fast
    if mode is not None and _MODES[mode] != channels:
        raise ValueError(f"key {key!r}: mode {mode!r} needs {_MODES[mode]} channels, the "
                         f"array has {channels}")
    dtype = getattr(array, "dtype", None)
    kind = getattr(dtype, "kind", "")
    if dtype == np.uint8:
        pixels = np.array(array, dtype=np.uint8, order="C", copy=True)
    elif kind == "f":
        values = np.asarray(array)
        finite = np.isfinite(values)
        if not finite.all():
            raise ValueError(f"key {key!r}: the float image holds NaN or infinite values "
                             f"({int(values.size - np.count_nonzero(finite)):,} of them)")
        low, high = float(values.min()), float(values.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(f"key {key!r}: a float image must lie in [0, 1] (this one "
                             f"spans [{low:g}, {high:g}]); scale it, or pass uint8")
        pixels = np.rint(values * 255.0).astype(np.uint8, order="C")
    elif kind == "b":
        pixels = np.asarray(array).astype(np.uint8) * np.uint8(255)
    elif kind in "iu":  # other integers: taken as they are when they fit 0..255
        values = np.asarray(array)
        low, high = int(values.min()), int(values.max())
        if low < 0 or high > 255:
            raise ValueError(f"key {key!r}: an integer image must lie in [0, 255] (this one "
                             f"spans [{low}, {high}]); scale it, or pass floats in [0, 1]")
        pixels = values.astype(np.uint8, order="C")
    else:
        raise TypeError(f"key {key!r}: an image array must be uint8 (or integers in "
                        f"[0, 255]) or float in [0, 1], not {dtype}")
    pixels = pixels.reshape(int(height), int(width), int(channels))
    return ImageJob(width=int(width), height=int(height), pixels=pixels, caption=caption)


def _from_pil(key: str, image: Any, caption: str | None, mode: str | None) -> ImageJob:
    import numpy as np

    width, height = image.size
    _check_pixels(key, int(height), int(width))
    target = mode or (image.mode if image.mode in _MODES else
                      "RGBA" if "A" in image.getbands() else "RGB")
    converted = image.convert(target) if image.mode != target else image
    return _from_array(key, np.array(converted), caption, None)


def _from_path(key: str, path: Path, caption: str | None, mode: str | None) -> ImageJob:
    pil = require_pillow(key)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"key {key!r}: cannot read the image file {str(path)!r} "
                         f"({exc.strerror or exc})") from None
    import io

    try:
        with pil.open(io.BytesIO(data)) as image:
            width, height = image.size
            _check_pixels(key, int(height), int(width))
            if data.startswith(_PNG_MAGIC) and mode is None:  # stored as the user gave it
                return ImageJob(width=int(width), height=int(height), png=data, caption=caption)
            image.load()
            return _from_pil(key, image, caption, mode)
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith("key "):
            raise
        raise ValueError(f"key {key!r}: {str(path)!r} is not an image Pillow can read "
                         f"({exc})") from None


def _from_figure(key: str, figure: Any, caption: str | None) -> ImageJob:
    import numpy as np

    canvas = figure.canvas
    if not hasattr(canvas, "buffer_rgba"):  # a closed figure, or a non-raster backend
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(figure)
    canvas.draw()  # drawn in the caller's thread: a figure is not safe to share
    rgba = np.asarray(canvas.buffer_rgba())
    return _from_array(key, rgba, caption, "RGBA")


def image_job(key: str, data: Any, caption: str | None = None,
              mode: str | None = None) -> ImageJob:
    """Check ``data`` and copy what the encoder needs; errors name ``key``."""
    require_pillow(key)
    if isinstance(data, Image):
        return image_job(key, data._data, caption or data.caption, mode or data.mode)
    if isinstance(data, (str, os.PathLike)):
        return _from_path(key, Path(data), caption, mode)
    if is_figure(data):
        return _from_figure(key, data, caption)
    if type(data).__module__.startswith("PIL.") and hasattr(data, "getbands"):
        return _from_pil(key, data, caption, mode)
    if hasattr(data, "shape") or isinstance(data, (list, tuple)):
        return _from_array(key, data, caption, mode)
    raise TypeError(f"key {key!r}: an Image is made from a NumPy array, a PIL image, a file "
                    f"path or a matplotlib figure, not {type(data).__name__}")

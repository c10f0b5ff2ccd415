"""What every media value shares, and the one place that asks for Pillow."""

from __future__ import annotations

import abc
from typing import Any

__all__ = ["MAX_PIXELS", "Media", "require_pillow"]

# why: a 50-megapixel RGBA image is 200 MB copied; more than that in one log() call is a
# mistake (a batch tensor logged as one image) far more often than a wish
MAX_PIXELS = 50_000_000


class Media(abc.ABC):
    """Base of the media types: ``_prepare(key)`` checks and copies in ``log()``."""

    @abc.abstractmethod
    def _prepare(self, key: str) -> Any:
        """Check the value and copy what the caller may reuse; runs on the user thread."""


def require_pillow(key: str) -> Any:
    """The ``PIL.Image`` module, or ImportError naming the key and the extra."""
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise ImportError(f"key {key!r}: images need Pillow, the PNG encoder: "
                          "pip install 'nbtrack[media]'") from None
    return PILImage

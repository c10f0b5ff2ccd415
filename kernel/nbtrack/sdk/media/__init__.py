"""Media values for ``run.log``, shaped like W&B's: :class:`Image`, :class:`Histogram`,
:class:`Table` (and matplotlib figures, pandas DataFrames and lists of Images logged as
they are). Each is checked and copied in ``log()``, naming the key when it is bad; PNG
and table JSON are encoded by the pipeline's media worker (``docs/media.md``).
"""

from nbtrack.sdk.media.base import MAX_PIXELS, Media
from nbtrack.sdk.media.histogram import Histogram
from nbtrack.sdk.media.image import Image
from nbtrack.sdk.media.table import Table

__all__ = ["MAX_PIXELS", "Histogram", "Image", "Media", "Table"]

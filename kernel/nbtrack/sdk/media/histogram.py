"""``nbtrack.Histogram``: bins and counts, computed in ``log()`` with NumPy (they are small).

The history value is W&B's ``{"_type": "histogram", "values": counts, "bins": edges}``:
``len(bins) == len(values) + 1``, at most 512 bins (W&B's bound).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nbtrack.sdk.media.base import Media

__all__ = ["MAX_BINS", "Histogram"]

MAX_BINS = 512


class Histogram(Media):
    """``Histogram(values)`` (binned into ``num_bins``) or ``Histogram(np_histogram=(counts,
    edges))``, as W&B's. Checked and computed when logged; errors name the key."""

    def __init__(self, sequence: Any = None, np_histogram: Sequence[Any] | None = None,
                 num_bins: int = 64) -> None:
        self._sequence = sequence
        self._np_histogram = np_histogram
        self.num_bins = num_bins

    def __repr__(self) -> str:
        return f"<nbtrack.Histogram num_bins={self.num_bins}>"

    def _prepare(self, key: str) -> dict[str, Any]:
        import numpy as np

        if self._np_histogram is not None:
            try:
                counts, edges = self._np_histogram
            except (TypeError, ValueError):
                raise ValueError(f"key {key!r}: np_histogram must be (counts, bin_edges)") from None
            values = np.asarray(counts).astype(float).ravel().tolist()
            bins = np.asarray(edges).astype(float).ravel().tolist()
            if len(bins) != len(values) + 1:
                raise ValueError(f"key {key!r}: np_histogram needs len(bin_edges) == "
                                 f"len(counts) + 1, not {len(bins)} and {len(values)}")
        else:
            if self._sequence is None:
                raise ValueError(f"key {key!r}: a Histogram needs a sequence or np_histogram")
            if (isinstance(self.num_bins, bool) or not isinstance(self.num_bins, int)
                    or not 1 <= self.num_bins <= MAX_BINS):
                raise ValueError(f"key {key!r}: num_bins must be an int in 1..{MAX_BINS}, "
                                 f"not {self.num_bins!r}")
            try:
                data = np.asarray(self._sequence, dtype=float).ravel()
            except (TypeError, ValueError):
                raise TypeError(f"key {key!r}: a Histogram's sequence must be numbers") from None
            if data.size == 0:
                raise ValueError(f"key {key!r}: a histogram of an empty array has no bins; "
                                 "log it when there are values")
            data = data[np.isfinite(data)]
            if data.size == 0:
                raise ValueError(f"key {key!r}: the histogram's values are all NaN or inf")
            counts_np, edges_np = np.histogram(data, bins=self.num_bins)
            values, bins = counts_np.tolist(), edges_np.tolist()
        if len(values) > MAX_BINS:
            raise ValueError(f"key {key!r}: a histogram has at most {MAX_BINS} bins, not "
                             f"{len(values)}")
        if not all(math.isfinite(v) for v in values) or not all(math.isfinite(b) for b in bins):
            raise ValueError(f"key {key!r}: histogram counts and edges must be finite")
        return {"_type": "histogram", "values": values, "bins": bins}

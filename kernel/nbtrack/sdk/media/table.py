"""``nbtrack.Table``: columns and rows of numbers, strings, bools, None and Images.

Checked and copied in ``log()`` (a ragged row, a cell of another type: an error naming
the key, the row and the column); the JSON file (``{"columns", "data"}``, W&B's
``media/table/...table.json``) is written by the media worker, image cells as
content-addressed ``media/images/<sha20>.png`` files referenced by an image-file dict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from nbtrack.pipeline.media.jobs import MEDIA_TAG, ImageJob, TableJob
from nbtrack.sdk.media.base import Media
from nbtrack.sdk.media.image import Image

__all__ = ["MAX_CELLS", "Table"]

MAX_CELLS = 1_000_000  # why: a bigger table is a dataset, better saved as a file
_PLAIN = (bool, int, float, str, type(None))


class Table(Media):
    """``Table(columns=[...], data=[[...], ...])`` or ``Table(dataframe=df)``, as W&B's."""

    def __init__(self, columns: Sequence[Any] | None = None, data: Sequence[Any] | None = None,
                 dataframe: Any = None) -> None:
        self._columns = columns
        self._data = data
        self._dataframe = dataframe

    def __repr__(self) -> str:
        return f"<nbtrack.Table columns={self._columns!r}>"

    def _source(self, key: str) -> tuple[list[str], Sequence[Any]]:
        if self._dataframe is not None:
            df = self._dataframe
            columns = [str(c) for c in df.columns]
            return columns, df.itertuples(index=False, name=None)
        data = list(self._data) if self._data is not None else []
        if self._columns is not None:
            columns = [str(c) for c in self._columns]
        elif data:
            columns = [f"c{i}" for i in range(len(data[0]))]
        else:
            raise ValueError(f"key {key!r}: a Table needs columns, data or a dataframe")
        return columns, data

    def _prepare(self, key: str) -> TableJob:
        from nbtrack.sdk.media.image import image_job

        columns, source = self._source(key)
        if len(set(columns)) != len(columns):
            raise ValueError(f"key {key!r}: the table's column names repeat: {columns}")
        ncols = len(columns)
        rows: list[list[Any]] = []
        images: list[ImageJob] = []
        text = 32 + sum(len(c) + 3 for c in columns)
        for r, row in enumerate(source):
            cells = list(row)
            if len(cells) != ncols:
                raise ValueError(f"key {key!r}: row {r} of the table has {len(cells)} cells, "
                                 f"the table has {ncols} columns")
            if (r + 1) * ncols > MAX_CELLS:
                raise ValueError(f"key {key!r}: a table has at most {MAX_CELLS:,} cells")
            out = []
            for c, cell in enumerate(cells):
                if isinstance(cell, Image):
                    images.append(image_job(f"{key}[{r}][{columns[c]}]", cell))
                    out.append((MEDIA_TAG, len(images) - 1))
                    text += 200
                    continue
                value = _cell(key, r, columns[c], cell)
                text += len(value) + 2 if isinstance(value, str) else 12
                out.append(value)
            rows.append(out)
        return TableJob(columns=columns, rows=rows, images=images, text_bytes=text)


def _cell(key: str, r: int, column: str, cell: Any) -> Any:
    if isinstance(cell, _PLAIN):
        if type(cell) is float or type(cell) is str or cell is None or type(cell) is bool:
            return cell
        if isinstance(cell, bool):
            return bool(cell)
        if isinstance(cell, int):
            return int(cell)
        return float(cell) if isinstance(cell, float) else str(cell)
    if getattr(cell, "shape", None) == () and hasattr(cell, "item"):  # a NumPy scalar
        item = cell.item()
        if isinstance(item, _PLAIN):
            return item
    if isinstance(cell, float) and math.isnan(cell):  # pragma: no cover - caught above
        return cell
    raise TypeError(f"key {key!r}: the table cell at row {r}, column {column!r} is a "
                    f"{type(cell).__name__}; cells may be numbers, strings, bools, None or "
                    "nbtrack.Image")

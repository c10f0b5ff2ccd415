"""Bad media input: each case raises naming the key, nothing of that ``log()`` call is
logged (not even the scalar beside it), and the run goes on."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.sdk.media import MAX_PIXELS

from helpers.txlogs import logged_rows

pytest.importorskip("PIL", reason="the media extra (Pillow) is part of the test extra")


def _huge() -> Any:
    # 100 megapixels as a broadcast view: no memory behind it, so a copy would show
    return np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (10_000, 10_000, 3))


CASES: dict[str, tuple[Callable[[], Any], type[Exception], str]] = {
    "nan_float_rgb": (lambda: nbtrack.Image(np.full((4, 4, 3), np.nan)), ValueError,
                      "NaN or infinite"),
    "float_out_of_range": (lambda: nbtrack.Image(np.full((4, 4), 2.0)), ValueError,
                           r"must lie in \[0, 1\]"),
    "too_many_pixels": (lambda: nbtrack.Image(_huge()), ValueError,
                        f"larger than the limit of {MAX_PIXELS:,}"),
    "two_channels": (lambda: nbtrack.Image(np.zeros((4, 4, 2), np.uint8)), ValueError,
                     "H x W or H x W x C"),
    "int_out_of_range": (lambda: nbtrack.Image(np.full((4, 4), 256, np.int64)), ValueError,
                         r"integer image must lie in \[0, 255\]"),
    "complex_dtype": (lambda: nbtrack.Image(np.zeros((4, 4), np.complex64)), TypeError,
                      r"must be uint8 \(or integers"),
    "not_an_image": (lambda: nbtrack.Image({"a": 1}), TypeError, "NumPy array, a PIL image"),
    "missing_file": (lambda: nbtrack.Image("/nonexistent/x.png"), ValueError,
                     "cannot read the image file"),
    "ragged_table": (lambda: nbtrack.Table(columns=["a", "b"], data=[[1, 2], [3]]),
                     ValueError, "row 1 of the table has 1 cells"),
    "table_cell_type": (lambda: nbtrack.Table(columns=["a"], data=[[{"x": 1}]]), TypeError,
                        "row 0, column 'a' is a dict"),
    "table_bad_image": (lambda: nbtrack.Table(columns=["im"], data=[[nbtrack.Image(
        np.full((2, 2, 3), np.nan))]]), ValueError, r"key 'bad\[0\]\[im\]'"),
    "empty_histogram": (lambda: nbtrack.Histogram(np.array([])), ValueError,
                        "histogram of an empty array"),
    "histogram_edges": (lambda: nbtrack.Histogram(np_histogram=([1, 2], [0, 1])), ValueError,
                        "len\\(bin_edges\\) == len\\(counts\\) \\+ 1"),
    "too_many_bins": (lambda: nbtrack.Histogram([1.0, 2.0], num_bins=513), ValueError,
                      "num_bins must be an int in 1..512"),
    "gallery_mixed": (lambda: [nbtrack.Image(np.zeros((2, 2), np.uint8)), 3], TypeError,
                      "only nbtrack.Image"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[nbtrack.Run]:
    mp = pytest.MonkeyPatch()
    mp.setenv("NBTRACK_DIR", str(tmp_path_factory.mktemp("media-bad")))
    r = nbtrack.init(project="media-bad", mode="offline", console="off")
    yield r
    r.finish(quiet=True)
    mp.undo()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_media_names_the_key_and_logs_nothing(run: nbtrack.Run, case: str) -> None:
    make, error, message = CASES[case]
    tracemalloc.start()
    try:
        with pytest.raises(error, match=message) as info:
            run.log({"probe": 1.0, "bad": make()})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "key 'bad" in str(info.value)
    assert "nothing of this log call was logged" in str(info.value)
    if case == "too_many_pixels":
        assert peak < 1 << 20, f"the refusal allocated {peak:,} bytes"
    run.log({"ok": 1.0})  # the run goes on


def test_pillow_missing_names_the_extra(run: nbtrack.Run, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL raises ImportError
    with pytest.raises(ImportError, match=r"key 'pic'.*pip install 'nbtrack\[media\]'"):
        run.log({"probe": 1.0, "pic": nbtrack.Image(np.zeros((2, 2), np.uint8))})


def test_media_is_refused_in_the_config(nbtrack_dir: Path) -> None:
    with pytest.raises(TypeError, match="config key 'sample'"):
        nbtrack.init(project="media-bad", mode="offline", console="off",
                     config={"sample": nbtrack.Image(np.zeros((2, 2), np.uint8))})


def test_nothing_of_the_refused_calls_is_in_the_log(run: nbtrack.Run) -> None:
    run.finish(quiet=True)
    rows = logged_rows(run.log_path)
    assert rows and all("probe" not in row and "bad" not in row for row in rows)
    assert sum("ok" in row for row in rows) == len(CASES)

"""Min/max bucket downsampling, without a server."""

from __future__ import annotations

import random

from nbtrack.server.downsample import downsample, numeric_keys


def test_every_bucket_extreme_and_the_last_row_survive() -> None:
    rng = random.Random(7)
    rows = [{"_step": s, "y": rng.random(), "_runtime": s} for s in range(10_000)]
    rows[4321]["y"] = -50.0
    rows[9000]["y"] = 50.0
    out = downsample(rows, None, 20)
    assert len(out) <= 41
    assert {"_step": 4321, "y": -50.0} in out and {"_step": 9000, "y": 50.0} in out
    assert out[-1]["_step"] == 9999
    for b in range(20):
        chunk = rows[b * 500 : (b + 1) * 500]
        lo = min(chunk, key=lambda r: r["y"])
        assert any(r["_step"] == lo["_step"] for r in out)


def test_numeric_keys_skip_internal_strings_bools_and_nan() -> None:
    rows = [{"_step": 0, "a": "s", "b": True, "c": float("nan")}, {"_step": 1, "c": 2, "d": 1.5}]
    assert numeric_keys(rows) == ["c", "d"]
    assert downsample([], None, 10) == []
    assert downsample(rows, ["c"], 5) == [
        {"_step": 0, "c": float("nan")},
        {"_step": 1, "c": 2},
    ] or downsample(rows, ["c"], 5) == [{"_step": 1, "c": 2}]

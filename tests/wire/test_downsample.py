"""The one min/max bucket downsampler (nbtrack.wire.downsample) and its value rule."""

from __future__ import annotations

import random

from nbtrack.wire.downsample import Extremes, downsample, numeric_keys, sampled


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


def test_the_value_rule_numbers_not_bools_not_nan_inf_counts() -> None:
    nan, inf = float("nan"), float("inf")
    assert [sampled(v) for v in (0, -3, 1.5, inf, -inf, 2**70)] == [True] * 6
    assert [sampled(v) for v in (nan, True, False, None, "1", [1], {"a": 1})] == [False] * 7


def test_nan_is_never_an_extreme_and_inf_always_is() -> None:
    nan, inf = float("nan"), float("inf")
    ys = [1.0, nan, 5.0, inf, 2.0, nan, -inf, 3.0, nan, 4.0]
    rows = [{"_step": s, "y": y} for s, y in enumerate(ys)]
    out = downsample(rows, ["y"], 2)  # buckets: steps 0-4 and 5-9
    kept = {r["_step"]: r["y"] for r in out}
    assert kept[3] == inf and kept[6] == -inf  # the extremes of their buckets
    assert kept[0] == 1.0  # the minimum of the first bucket; NaN at 1 is not
    assert kept[9] == 4.0  # the last row
    assert 1 not in kept and 5 not in kept and 8 not in kept  # NaN rows are no extreme
    assert numeric_keys([{"_step": 0, "y": nan}]) == []
    only_nan = [{"_step": s, "y": nan} for s in range(5)]
    assert [r["_step"] for r in downsample(only_nan, ["y"], 2)] == [4]  # just the last row


def test_extremes_keep_the_first_of_ties_per_bucket() -> None:
    e = Extremes()
    for at, (bucket, v) in enumerate([(0, 2), (0, 1), (0, 1), (0, 3), (1, 7), (0, 3)]):
        e.add(bucket, v, at)
    assert e.cells == {0: [1, 1, 3, 3], 1: [7, 4, 7, 4]}

"""The bounded sampled history: extremes survive, memory stays bounded."""

from __future__ import annotations

import math
import time

import pytest

from nbtrack.pipeline.handler.sampling import (
    HistorySampler,
    SeriesSampler,
    drop_nan,
    is_numeric_type,
    numeric_columns,
)

NAN = float("nan")
INF = float("inf")


def feed(
    sampler: SeriesSampler, n: int, batch: int, spikes: dict[int, float], start: int = 0
) -> None:
    """Feed steps start..start+n-1 of value 1.0 (spikes replace single points) in batches."""
    for lo in range(start, start + n, batch):
        hi = min(lo + batch, start + n)
        values = [1.0] * (hi - lo)
        for step, v in spikes.items():
            if lo <= step < hi:
                values[step - lo] = v
        sampler.add_batch(range(lo, hi), values)


def test_short_series_keeps_every_point_in_order() -> None:
    s = SeriesSampler(max_buckets=16)
    s.add_batch([0, 1, 2], [3.0, 1.0, 2.0])
    s.add(3, 5)
    steps, values = s.points()
    assert steps == [0, 1, 2, 3]
    assert values == [3.0, 1.0, 2.0, 5.0]
    snap = s.snapshot("loss")
    assert (snap.key, snap.min, snap.max, snap.last, snap.count) == ("loss", 1.0, 5.0, 5.0, 4)
    assert all(type(v) is float for v in snap.values)


def test_single_spike_survives_a_million_points() -> None:
    s = SeriesSampler(max_buckets=512)
    spike_step = 777_777
    feed(s, 1_000_000, 50_000, {spike_step: 1e6, 123_456: -5.0})
    steps, values = s.points()
    assert spike_step in steps
    assert values[steps.index(spike_step)] == 1e6
    assert values[steps.index(123_456)] == -5.0
    assert s.max == 1e6 and s.min == -5.0
    assert steps == sorted(steps) and len(set(steps)) == len(steps)
    assert steps[-1] == 999_999 and s.last == 1.0
    assert len(steps) <= 2 * 512 + 1
    assert s.count == 1_000_000


def test_size_bounded_for_ten_million_points() -> None:
    s = SeriesSampler(max_buckets=256)
    t0 = time.perf_counter()
    feed(s, 10_000_000, 500_000, {9_999_000: -1e9, 5: 1e9})
    assert time.perf_counter() - t0 < 10
    steps, values = s.points()
    assert len(steps) <= 2 * 256 + 1
    assert s.buckets_held <= 256
    assert -1e9 in values and 1e9 in values
    assert s.count == 10_000_000


def test_batch_split_matches_point_by_point() -> None:
    values = [math.sin(i / 7.0) * (1 + i % 13) for i in range(5000)]
    a = SeriesSampler(max_buckets=32)
    b = SeriesSampler(max_buckets=32)
    a.add_batch(range(5000), values)
    for i, v in enumerate(values):
        b.add(i, v)
    assert a.points() == b.points()
    c = SeriesSampler(max_buckets=32)
    for lo in range(0, 5000, 333):
        c.add_batch(range(lo, min(lo + 333, 5000)), values[lo : lo + 333])
    assert c.points() == a.points()


def test_nan_skipped_for_extremes_inf_kept() -> None:
    s = SeriesSampler(max_buckets=8)
    s.add_batch([0, 1, 2, 3, 4], [1.0, NAN, INF, -INF, 2.0])
    assert s.min == -INF and s.max == INF
    steps, values = s.points()
    assert INF in values and -INF in values
    assert not any(math.isnan(v) for v in values)
    assert 1 not in steps  # the NaN point is not an extreme
    assert s.count == 5

    t = SeriesSampler()
    t.add_batch([0, 1], [NAN, NAN])
    assert math.isnan(t.min) and math.isnan(t.max)
    steps, values = t.points()
    assert steps == [1] and math.isnan(values[0])  # last point always present
    t.add(2, 3.0)
    assert t.min == 3.0 and t.max == 3.0


def test_last_point_always_present() -> None:
    s = SeriesSampler(max_buckets=4)
    feed(s, 1000, 100, {0: 100.0})
    s.add(1000, 0.5)
    steps, values = s.points()
    assert steps[-1] == 1000 and values[-1] == 0.5
    assert steps[0] == 0 and values[0] == 100.0


def test_sparse_and_resumed_steps() -> None:
    s = SeriesSampler(max_buckets=8)
    s.add_batch([1_000_000, 1_000_010], [1.0, 2.0])
    s.add_batch([5_000_000_000], [3.0])  # a huge jump only merges, never grows memory
    steps, values = s.points()
    assert steps == [1_000_000, 1_000_010, 5_000_000_000]
    assert values == [1.0, 2.0, 3.0]
    assert s.buckets_held <= 8


def test_big_int_values() -> None:
    s = SeriesSampler()
    s.add_batch([0, 1], [10**400, 1.5])
    assert s.max == INF and s.min == 1.5


def test_numeric_columns_types() -> None:
    rows = [
        {"a": 1.0, "b": True, "c": "x", "d": None, "e": [1, 2], "f": 3, "_step": 0},
        {"a": 2.0, "b": False, "f": "n/a", "g": 1.5, "_step": 1},
    ]
    keys, cols = numeric_columns([10, 11], rows)
    assert keys == {"a", "b", "c", "d", "e", "f", "g", "_step"}
    assert cols == {"a": ([10, 11], [1.0, 2.0]), "f": ([10], [3]), "g": ([11], [1.5])}
    assert not is_numeric_type(bool) and is_numeric_type(int) and is_numeric_type(float)
    _, cols = numeric_columns([0], [{"_step": 0}], skip_private=False)
    assert cols == {"_step": ([0], [0])}


def test_drop_nan() -> None:
    assert drop_nan([0, 1], [1.0, 2.0]) == ([0, 1], [1.0, 2.0], 3.0)
    assert drop_nan([0, 1, 2], [1.0, NAN, 2.0]) == ([0, 2], [1.0, 2.0], 3.0)
    _, values, total = drop_nan([0, 1], [INF, -INF])
    assert values == [INF, -INF] and math.isnan(total)


def test_history_sampler() -> None:
    h = HistorySampler(max_buckets=8)
    rows = [{"loss": 1.0, "tag": "a"}, {"loss": 0.5, "acc": 0.1}, {"acc": 0.2}]
    h.add_columns(numeric_columns([0, 1, 2], rows)[1])  # as the handler does per batch
    snaps = {s.key: s for s in h.snapshot()}
    assert sorted(snaps) == ["acc", "loss"]
    assert snaps["loss"].steps == [0, 1] and snaps["acc"].steps == [1, 2]
    assert [s.key for s in h.snapshot(["acc", "missing"])] == ["acc"]
    assert snaps["acc"].values == [0.1, 0.2]
    with pytest.raises(ValueError):
        SeriesSampler(0)

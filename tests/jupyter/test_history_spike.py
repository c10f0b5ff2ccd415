"""Server-side downsampling for the run pages: a one-step spike in a 1,000,000-step run shows
in the downsampled answer at every zoom level, and the precomputed levels give each bucket's
exact min and max."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from nbtrack.server.readapi import levelcache, levels

from helpers.server import api, start_server, stream, upsert

pytestmark = pytest.mark.timeout(600)

N = 1_000_000
SPIKE = 777_777


def test_spike_in_a_million_steps_at_every_zoom(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "srv")
    try:
        upsert(srv, "long", project="spiky")
        entity = api(srv, "viewer").json()["entity"]
        path = f"{entity}/spiky/long"
        chunk = 100_000
        for off in range(0, N, chunk):
            lines = [
                f'{{"_step": {s}, "loss": {1.0 + 0.01 * math.sin(s / 100):.6f}}}'
                if s != SPIKE else f'{{"_step": {s}, "loss": 1000000.0}}'
                for s in range(off, off + chunk)
            ]
            assert stream(srv, path, {"wandb-history.jsonl": (off, lines)}).ok
        rng = random.Random(7)
        lo, hi = 0, N - 1
        zooms = 0
        while True:
            for samples in (1000, 100):
                params: dict[str, Any] = {"keys": "loss", "samples": samples}
                if (lo, hi) != (0, N - 1):
                    params.update(min_step=lo, max_step=hi)
                rows = api(srv, f"runs/{path}/history", **params).json()["rows"]
                assert {"_step": SPIKE, "loss": 1e6} in rows, (lo, hi, samples)
                assert len(rows) <= 2 * samples + 1, (lo, hi, samples, len(rows))
                steps = [r["_step"] for r in rows]
                assert steps == sorted(steps) and lo <= steps[0] and steps[-1] <= hi
            zooms += 1
            if hi - lo < 4:
                break
            # a window about half as wide that still holds the spike, not centred on it
            width = (hi - lo) // 2
            lo = max(lo, SPIKE - rng.randint(0, width))
            hi = min(hi, lo + width)
        assert zooms >= 17  # from 1,000,000 steps down to a handful
        # without keys the rows are whole, and the spike row is there
        rows = api(srv, f"runs/{path}/history", samples=500).json()["rows"]
        assert {"_step": SPIKE, "loss": 1e6} in rows
    finally:
        srv.stop()


class _Rows:
    """Storage stand-in: ``history`` over an in-memory list of rows."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def history(self, rid: int, lo: int | None, hi: int | None) -> list[str]:
        return [json.dumps(r) for r in self.rows
                if (lo is None or r["_step"] >= lo) and (hi is None or r["_step"] <= hi)]


@pytest.mark.parametrize("seed", range(6))
def test_levels_give_exact_bucket_extremes(seed: int) -> None:
    """Random gaps, missing keys, random ranges: every answered bucket holds the true min and
    max of the rows in it, and no extreme of the range is lost."""
    rng = random.Random(seed)
    rows, step = [], rng.randint(0, 50)
    for _ in range(rng.randint(20_000, 60_000)):
        step += rng.choice((1, 1, 1, 2, 7))
        row: dict[str, Any] = {"_step": step}
        if rng.random() < 0.9:
            row["a"] = rng.gauss(0, 1)
        if rng.random() < 0.3:
            row["b"] = rng.randint(-5, 5)
        rows.append(row)
    store = _Rows(rows)
    run = {"rid": seed, "history_line_count": len(rows), "last_step": rows[-1]["_step"]}
    for _ in range(8):
        lo = rng.randint(rows[0]["_step"] - 10, rows[-1]["_step"] // 2)
        hi = rng.randint(lo + 1, rows[-1]["_step"] + 10)
        samples = rng.choice((10, 50, 200))
        out = levelcache.query(1000 + seed, store, run, ["a", "b"], samples, lo, hi)
        if out is None:  # too fine for the levels: the raw path answers
            assert hi - lo + 1 < levels.BASE * samples
            continue
        inside = [r for r in rows if lo <= r["_step"] <= hi]
        for key in ("a", "b"):
            vals = [r[key] for r in inside if key in r]
            got = [r[key] for r in out if key in r]
            assert len(got) <= 2 * samples + 1
            if vals:
                assert max(got) == max(vals) and min(got) == min(vals)
            truth = {r["_step"]: r[key] for r in inside if key in r}
            assert all(truth[r["_step"]] == r[key] for r in out if key in r)

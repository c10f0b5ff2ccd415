#!/usr/bin/env python3
"""Time the storage's history ingest: new rows, and rows re-sent at new offsets.

Why: history rows are matched by ``_step`` as well as by line (``server/storage/
stepdedup.py``), so a ``wandb sync`` that re-sends a run is stored once. The common case
(every step above the run's last one) must cost what it did; a re-sent run costs one step
lookup per chunk. Appends ``--rows`` rows of 10 floats in posts of ``--chunk`` rows
through ``Storage.append_lines`` (no HTTP: the storage's own cost), ``--reps`` times into
a fresh database, then re-sends the whole run once at the offsets after it.

    python benchmarks/history_dedup.py [--rows 200000] [--chunk 1000] [--reps 3]
                                       [--url postgresql://...]   (default: SQLite)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from nbtrack.server.storage.url import open_storage

HIST = "wandb-history.jsonl"


def _rows(n: int) -> list[str]:
    return [json.dumps({"_step": s, **{f"k{j}": s * 0.1 + j for j in range(10)},
                        "_runtime": s * 0.01, "_timestamp": 1e9 + s}) for s in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--url", default="", help="a PostgreSQL URL (default: a temporary SQLite)")
    args = ap.parse_args()
    rows = _rows(args.rows)
    new: list[float] = []
    resent = 0.0
    for rep in range(args.reps):
        url = args.url or str(Path(tempfile.mkdtemp()) / "bench.db")
        st = open_storage(url)
        rid = int(st.upsert_run("e", "p", f"bench-{rep}-{time.time_ns()}", {}, None)[0]["rid"])
        t = time.perf_counter()
        for i in range(0, len(rows), args.chunk):
            st.append_lines(rid, HIST, i, rows[i:i + args.chunk])
        new.append(time.perf_counter() - t)
        if rep == 0:
            t = time.perf_counter()
            for i in range(0, len(rows), args.chunk):
                done = st.append_lines(rid, HIST, len(rows) + i, rows[i:i + args.chunk])
                assert done.repeats == len(rows[i:i + args.chunk])
            resent = time.perf_counter() - t
        st.close()
    per = [s / args.rows * 1e6 for s in new]
    print(f"{'PostgreSQL' if args.url else 'SQLite'}, {args.rows} rows of 10 floats in posts "
          f"of {args.chunk}")
    print(f"new rows:       {', '.join(f'{p:.2f}' for p in per)} µs/row (min {min(per):.2f})")
    print(f"re-sent rows:   {resent / args.rows * 1e6:.2f} µs/row (all stored once)")


if __name__ == "__main__":
    main()

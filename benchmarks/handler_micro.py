"""Micro-benchmark: the Handler on N rows of 10 floats with no-op emits.

    python benchmarks/handler_micro.py [rows] [--profile]

Fills the input queue first (the user side's cost is not measured), then times
the handler thread from start to END. Prints µs per row and, for reference, the
cost of json.dumps alone on the same rows.
"""

from __future__ import annotations

import json
import random
import sys
import time

from nbtrack.pipeline.handler.stage import Handler
from nbtrack.pipeline.ringqueue import RingQueue
from nbtrack.proto import nbtrack_pb2 as pb


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
    keys = [f"metric_{i}" for i in range(10)]
    t0 = time.time()
    items = [({k: random.random() for k in keys}, None, True, t0 + i * 1e-3) for i in range(n)]
    if "--profile" not in sys.argv:
        best = min(one_run(items, t0) for _ in range(3))
        rows = [
            dict(d, _step=i, _runtime=0.5, _timestamp=ts) for i, (d, _, _, ts) in enumerate(items)
        ]
        dumps = []
        for _ in range(3):
            d0 = time.perf_counter()
            for r in rows:
                json.dumps(r)
            dumps.append(time.perf_counter() - d0)
        print(
            f"handler: {n} rows, best of 3: {best / n * 1e6:.2f} µs/row "
            f"(json.dumps alone: {min(dumps) / n * 1e6:.2f} µs/row)"
        )
        return
    one_run(items, t0, profile=True)


def one_run(items: list, t0: float, profile: bool = False) -> float:
    n = len(items)

    q = RingQueue(None, 1 << 40, "record_q")
    run = pb.Record(run=pb.RunRecord(run_id="bench", start_time=t0))
    q.put(run, run.ByteSize())
    for it in items:
        q.put(it, 200)
    q.put_end()

    emitted = [0]

    def emit(record: object, nbytes: int) -> None:
        emitted[0] += 1

    h = Handler(q, emit, emit, lambda r: None, lambda m: None)
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        h.process(q.get_batch(n + 10))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        return 0.0
    start = time.perf_counter()
    h.start()
    h.join(600)
    elapsed = time.perf_counter() - start
    assert emitted[0] >= 2 * (n // 4096), emitted
    return elapsed


if __name__ == "__main__":
    main()

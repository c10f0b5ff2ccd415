"""Micro-benchmark of the transaction log: append cost, write and read throughput.

Usage: python benchmarks/txlog_micro.py [--records N] [--size BYTES]

Prints µs per append of a record (2 KB by default, buffered only), MB/s for
append + flush + fsync to disk, MB/s for reading the file back (payload bytes),
and the same for parsing it into ``pb.Record`` messages.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import LogReader, LogWriter, read_records


def _best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    n, size = args.records, args.size
    payload = os.urandom(size)
    total_mb = n * size / 1e6

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        counter = iter(range(10**9))

        # 1. append only (in-memory chunk building), per record
        def append_only() -> None:
            w = LogWriter(root / f"a{next(counter)}.log")
            app = w.append
            for _ in range(n):
                app(payload)
            w._buf.clear()  # measure append alone: drop the buffer instead of writing it
            w.close()

        t_append = _best(append_only, args.repeat)

        # 2. append + flush every 1000 records + fsync at the end
        def write_file() -> Path:
            path = root / f"w{next(counter)}.log"
            w = LogWriter(path)
            app = w.append
            for i in range(n):
                app(payload)
                if i % 1000 == 999:
                    w.flush()
            w.fsync()
            w.close()
            return path

        t_write = _best(write_file, args.repeat)
        path = write_file()
        file_mb = path.stat().st_size / 1e6

        # 3. read payloads
        def read_all() -> None:
            count = 0
            for _ in LogReader(path):
                count += 1
            assert count == n, count

        t_read = _best(read_all, args.repeat)

        # 4. records of a realistic shape: history batches of 100 rows of 10 floats
        fields = ", ".join(f'"m{k}": {k * 0.123456789:.9f}' for k in range(10))
        rows = [
            f'{{"_step": {i}, "_runtime": 1.5, "_timestamp": 1700000000.0, {fields}}}'
            for i in range(100)
        ]
        rec = pb.Record(num=1, history=pb.HistoryRecord(rows=rows, first_step=0, last_step=99))
        data = rec.SerializeToString()
        path2 = root / "records.log"
        n2 = max(1, n * size // len(data))
        with LogWriter(path2) as w:
            for _ in range(n2):
                w.append(data)

        def parse_all() -> None:
            count = 0
            for _ in read_records(path2):
                count += 1
            assert count == n2

        t_parse = _best(parse_all, args.repeat)

    print(f"records: {n} x {size} B = {total_mb:.1f} MB payload ({file_mb:.1f} MB file)")
    print(f"append (buffer only):        {t_append / n * 1e6:6.2f} µs/record")
    print(f"write  (append+flush+fsync): {total_mb / t_write:8.0f} MB/s")
    print(f"read   (payload bytes):      {total_mb / t_read:8.0f} MB/s")
    print(
        f"read + parse pb.Record ({len(data)} B history records of 100 rows): "
        f"{n2 * len(data) / 1e6 / t_parse:8.0f} MB/s"
    )


if __name__ == "__main__":
    main()

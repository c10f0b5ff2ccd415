"""Child process of test_flowcontrol: 1,000,000 rows, the server down for the first half.

argv: <dir> <rows>. Prints one JSON line: peak RSS, spills, timings, run path and server.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import nbtrack
from nbtrack.txlog import read_records

from helpers.server import start_server


class SpillCounter(logging.Handler):
    """Counts the poster's "lines are read back from the transaction log" notices."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.spills = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "read back from the transaction log" in record.getMessage():
            self.spills += 1


def peak_rss_kib() -> int:
    """This process's own high-water mark. ``ru_maxrss`` survives exec, so a child of a big
    pytest worker would report the worker's peak (454 MB in CI) before it did anything."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))


def main() -> None:
    base = Path(sys.argv[1])
    rows = int(sys.argv[2])
    server = start_server(base / "srv")
    counter = SpillCounter()
    poster_log = logging.getLogger("nbtrack.pipeline.sender.poster")
    poster_log.addHandler(counter)
    poster_log.setLevel(logging.INFO)
    try:
        run = nbtrack.init(project="flow", mode="online", base_url=server.url,
                           api_key=server.token, dir=base / "runs")
        rss_start = peak_rss_kib()
        server.stop()
        t0 = time.monotonic()
        half = rows // 2
        for i in range(half):
            if i % 50_000 == 0:
                print(f"row {i}", file=sys.stderr)  # console lines spill too
            run.log({"i": i, "a": i * 0.5, "b": i * 0.25, "c": -i * 1.5, "d": i % 97,
                     "e": 1.0 / (i + 1), "f": i * 3.0, "g": i * 7.0, "h": 0.125, "k": 42.0})
        down_s = time.monotonic() - t0
        spills_while_down = counter.spills
        server.restart()
        for i in range(half, rows):
            if i % 50_000 == 0:
                print(f"row {i}", file=sys.stderr)
            run.log({"i": i, "a": i * 0.5, "b": i * 0.25, "c": -i * 1.5, "d": i % 97,
                     "e": 1.0 / (i + 1), "f": i * 3.0, "g": i * 7.0, "h": 0.125, "k": 42.0})
        log_s = time.monotonic() - t0
        run.finish(timeout=600, quiet=True)
        total_s = time.monotonic() - t0
        # every system sample taken is a stats record in the run's log
        samples = sum(1 for rec in read_records(run.log_path) if rec.HasField("stats"))
        print(json.dumps({
            "peak_rss_mb": peak_rss_kib() / 1024,
            "rss_at_init_mb": rss_start / 1024,
            "spills": counter.spills, "spills_while_down": spills_while_down,
            "down_seconds": down_s, "log_seconds": log_s, "total_seconds": total_s,
            "state": run.state, "path": run.path, "url": server.url, "token": server.token,
            "log_bytes": run.log_path.stat().st_size,
            "system_samples": samples,
        }), flush=True)
        # the parent reads the server; it stops it by its pid afterwards
        print(json.dumps({"pid": server.pid}), flush=True)
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()

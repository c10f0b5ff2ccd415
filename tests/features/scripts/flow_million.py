"""Child process of test_flowcontrol: 1,000,000 rows, the server down for the first half.

argv: <dir> <rows>. Prints one JSON line: peak RSS, spills, timings, run path and server.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import nbtrack

from helpers.server import start_server


def main() -> None:
    base = Path(sys.argv[1])
    rows = int(sys.argv[2])
    server = start_server(base / "srv")
    try:
        run = nbtrack.init(project="flow", mode="online", base_url=server.url,
                           api_key=server.token, dir=base / "runs")
        assert run._stream is not None and run._stream.sender._fs is not None
        fs = run._stream.sender._fs
        rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        server.stop()
        t0 = time.monotonic()
        half = rows // 2
        for i in range(half):
            if i % 50_000 == 0:
                print(f"row {i}", file=sys.stderr)  # console lines spill too
            run.log({"i": i, "a": i * 0.5, "b": i * 0.25, "c": -i * 1.5, "d": i % 97,
                     "e": 1.0 / (i + 1), "f": i * 3.0, "g": i * 7.0, "h": 0.125, "k": 42.0})
        down_s = time.monotonic() - t0
        spills_while_down = fs.spills
        server.restart()
        for i in range(half, rows):
            if i % 50_000 == 0:
                print(f"row {i}", file=sys.stderr)
            run.log({"i": i, "a": i * 0.5, "b": i * 0.25, "c": -i * 1.5, "d": i % 97,
                     "e": 1.0 / (i + 1), "f": i * 3.0, "g": i * 7.0, "h": 0.125, "k": 42.0})
        log_s = time.monotonic() - t0
        run.finish(timeout=600, quiet=True)
        total_s = time.monotonic() - t0
        print(json.dumps({
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_at_init_mb": rss_start / 1024,
            "spills": fs.spills, "spills_while_down": spills_while_down,
            "down_seconds": down_s, "log_seconds": log_s, "total_seconds": total_s,
            "state": run.state, "path": run.path, "url": server.url, "token": server.token,
            "log_bytes": run.log_path.stat().st_size,
            "system_samples": run._system.samples if run._system is not None else 0,
        }), flush=True)
        # the parent reads the server; it stops it by its pid afterwards
        print(json.dumps({"pid": server.pid}), flush=True)
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Time the downsampled history query on a 1,000,000-step run (SQLite), as the pages ask it.

Starts a real tracking server (``python -m nbtrack.server``) in a temporary directory,
streams one run of ``--steps`` rows with 5 metrics (plus ``_runtime``/``_timestamp``)
through ``file_stream`` like a client, then times ``GET .../history?keys=<5 metrics>&
samples=1000`` over HTTP: the first query (builds the min/max levels), repeated queries of
the whole run, and zooms (``min_step``/``max_step``) from the whole run down to 1,000 steps.
Prints a Markdown table (paste it into docs/pages.md) and, with ``--json``, writes figures.

    python benchmarks/history_query.py [--steps 1000000] [--samples 1000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("loss", "acc", "lr", "grad_norm", "val_loss")


def row(step: int) -> str:
    return json.dumps({
        "_step": step, "_runtime": step * 0.01, "_timestamp": 1.7e9 + step * 0.01,
        "loss": 2.0 / (1 + 1e-4 * step) + 0.01 * math.sin(step / 50),
        "acc": min(0.999, step / 1.2e6), "lr": 1e-3 * 0.5 ** (step // 200_000),
        "grad_norm": 1.0 + 0.1 * math.cos(step / 300), "val_loss": 2.1 / (1 + 1e-4 * step),
    })


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(dir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    port, token = free_port(), secrets.token_hex(20)
    proc = subprocess.Popen(
        [sys.executable, "-m", "nbtrack.server", "--port", str(port), "--dir", str(dir),
         "--token", token, "--no-state-file"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return proc, url, token
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start")


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    n, samples = args.steps, args.samples
    with tempfile.TemporaryDirectory(prefix="nbtrack-bench-") as tmp:
        proc, url, token = start(Path(tmp))
        auth = ("api", token)
        try:
            gql = {"query": "mutation { upsertBucket(input: {name: \"long\", modelName: "
                            "\"bench\"}) { bucket { id } } }"}
            requests.post(url + "/graphql", json=gql, auth=auth, timeout=10).raise_for_status()
            entity = requests.get(url + "/api/v1/viewer", auth=auth, timeout=10).json()["entity"]
            path = f"{entity}/bench/long"
            t_ingest, _ = timed(lambda: ingest(url, auth, path, n))
            base = f"{url}/api/v1/runs/{path}/history"
            keys = ",".join(KEYS)

            def query(lo: int | None = None, hi: int | None = None) -> list[dict[str, Any]]:
                params: dict[str, Any] = {"keys": keys, "samples": samples}
                if lo is not None:
                    params.update(min_step=lo, max_step=hi)
                r = requests.get(base, params=params, auth=auth, timeout=600)
                r.raise_for_status()
                return list(r.json()["rows"])

            t_cold, rows = timed(query)
            results: list[dict[str, Any]] = [{
                "query": "whole run, first query (builds the levels)", "span": n,
                "median_ms": t_cold * 1000, "rows": len(rows)}]
            mid = n // 2
            spans = [n, n // 10, n // 100, 16 * samples, n // 1000]
            for span in spans:
                lo, hi = (None, None) if span == n else (mid - span // 2, mid + span // 2 - 1)
                times = []
                for _ in range(args.repeat):
                    dt, rows = timed(lambda lo=lo, hi=hi: query(lo, hi))
                    times.append(dt)
                per_key = max(sum(1 for r in rows if k in r) for k in KEYS)
                results.append({
                    "query": "whole run" if span == n else f"zoom to {span:,} steps",
                    "span": span, "median_ms": statistics.median(times) * 1000,
                    "p95_ms": sorted(times)[int(0.95 * (len(times) - 1))] * 1000,
                    "rows": len(rows), "max_points_per_key": per_key})
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"history query: {len(KEYS)} metrics, samples={samples}, run of {n:,} steps, SQLite, "
          f"over HTTP on 127.0.0.1 ({args.repeat} repeats)\n")
    print(f"ingest of {n:,} rows through file_stream: {t_ingest:.1f} s\n")
    print("| query | median ms | p95 ms | rows | points per key (max) |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        p95 = f"{r['p95_ms']:.1f}" if "p95_ms" in r else "—"
        ppk = r.get("max_points_per_key", "—")
        print(f"| {r['query']} | {r['median_ms']:.1f} | {p95} | {r['rows']} | {ppk} |")
    if args.json:
        args.json.write_text(json.dumps({"steps": n, "samples": samples, "ingest_s": t_ingest,
                                         "results": results}, indent=2))
    return 0


def ingest(url: str, auth: tuple[str, str], path: str, n: int, chunk: int = 50_000) -> None:
    for off in range(0, n, chunk):
        lines = [row(s) for s in range(off, min(n, off + chunk))]
        body = {"files": {"wandb-history.jsonl": {"offset": off, "content": lines}}}
        r = requests.post(f"{url}/files/{path}/file_stream", json=body, auth=auth, timeout=300)
        r.raise_for_status()


if __name__ == "__main__":
    sys.exit(main())

"""Load on a team server: many runs from many processes at once, every row stored once.

``python benchmarks/team_load.py`` (defaults: 32 runs from 8 processes, 20,000 steps
each, 200 rows per file_stream post, on SQLite and on a private PostgreSQL it starts
itself) prints per-backend figures: rows/s over the whole load and file_stream request
latency percentiles. Every run re-sends one earlier chunk (as a client does after a lost
answer); at the end each run must have exactly ``steps`` rows, steps 0..steps-1, once.

``--db postgresql://...`` uses an existing database instead; ``--json PATH`` writes the
figures. ``tests/team/test_load.py`` runs a small version of the same load in CI.

``--replicas 1,2,3`` measures scale-out instead: on one PostgreSQL database and one S3 store
(moto's S3 server, an emulator), the same load through nginx with TLS (round-robin) in front
of 1, then 2, then 3 ``nbtrack server`` replicas, side by side in one run (each level its own
run names; the database and the store are shared by all levels, as in a deployment).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

UPSERT = """mutation($name: String) {
  upsertBucket(input: {name: $name, modelName: "load"}) { bucket { name } } }"""


def _run(url: str, key: str, name: str, steps: int, chunk: int, out: list[float]) -> None:
    """One run: upsert, then post every row in chunks (one chunk twice), then complete."""
    with requests.Session() as s:
        s.auth = ("api", key)
        r = s.post(f"{url}/graphql", json={"query": UPSERT, "variables": {"name": name}})
        r.raise_for_status()
        entity = s.get(f"{url}/api/v1/viewer").json()["entity"]
        post_url = f"{url}/files/{entity}/load/{name}/file_stream"
        offsets = list(range(0, steps, chunk))
        resend = offsets[len(offsets) // 2] if len(offsets) > 1 else None
        for i, off in enumerate(offsets):
            batch = [offsets[i]] + ([resend] if off == offsets[-1] and resend is not None else [])
            for start in batch:
                rows = [
                    json.dumps(
                        {"_step": st, "loss": 1.0 / (st + 1), "acc": st % 97, "_runtime": st}
                    )
                    for st in range(start, min(start + chunk, steps))
                ]
                body = {"files": {"wandb-history.jsonl": {"offset": start, "content": rows}}}
                t0 = time.perf_counter()
                resp = s.post(post_url, json=body, timeout=120)
                out.append(time.perf_counter() - t0)
                resp.raise_for_status()
        done = {"files": {}, "complete": True, "exitcode": 0}
        s.post(post_url, json=done, timeout=120).raise_for_status()


def _process(url: str, key: str, names: list[str], steps: int, chunk: int, q: Any) -> None:
    latencies: list[float] = []
    errors: list[str] = []

    def one(name: str) -> None:
        try:
            _run(url, key, name, steps, chunk, latencies)
        except Exception as e:  # reported to the parent
            errors.append(f"{name}: {e!r}")

    threads = [threading.Thread(target=one, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put((latencies, errors))


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run_load(
    url: str, key: str, *, procs: int, runs: int, steps: int, chunk: int, tag: str = "r"
) -> dict[str, Any]:
    """Drive the load; verify every row is stored exactly once; return the figures."""
    names = [f"{tag}{i:03d}" for i in range(runs)]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ps = [
        ctx.Process(target=_process, args=(url, key, names[i::procs], steps, chunk, q))
        for i in range(procs)
    ]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    latencies: list[float] = []
    errors: list[str] = []
    for _ in ps:
        lat, err = q.get(timeout=3600)
        latencies += lat
        errors += err
    elapsed = time.perf_counter() - t0
    for p in ps:
        p.join()
    if errors:
        raise RuntimeError(f"{len(errors)} runs failed: {errors[:3]}")
    # exactly once: counts from the run objects and the rows themselves
    with requests.Session() as s:
        s.auth = ("api", key)
        entity = s.get(f"{url}/api/v1/viewer").json()["entity"]
        for n in names:
            run = s.get(f"{url}/api/v1/runs/{entity}/load/{n}").json()
            assert run["state"] == "finished", run
            assert (run["history_line_count"], run["last_step"]) == (steps, steps - 1), run
            rows = s.get(f"{url}/api/v1/runs/{entity}/load/{n}/history", timeout=120).json()["rows"]
            got = [r["_step"] for r in rows]
            assert got == list(range(steps)), f"{n}: {len(got)} rows, not each step once"
    total = runs * steps
    ms = [x * 1000 for x in latencies]
    return {
        "runs": runs,
        "processes": procs,
        "steps": steps,
        "rows_per_post": chunk,
        "rows": total,
        "posts": len(ms),
        "seconds": round(elapsed, 2),
        "rows_per_s": round(total / elapsed),
        "latency_ms": {
            "p50": round(_pct(ms, 50), 1),
            "p90": round(_pct(ms, 90), 1),
            "p99": round(_pct(ms, 99), 1),
            "max": round(max(ms), 1),
            "mean": round(statistics.fmean(ms), 1),
        },
    }


def _bench_key(db: str) -> str:
    from nbtrack.server import auth
    from nbtrack.server.storage.url import open_storage

    st = open_storage(db.removeprefix("sqlite:///"))
    try:
        auth.add_user(st, "bench", [])
        return auth.create_key(st, "bench")[1]
    finally:
        st.close()


def bench(backend: str, db: str | None, args: argparse.Namespace) -> dict[str, Any]:
    from helpers.postgres import PostgresCluster
    from helpers.server import start_server

    cluster = None
    with tempfile.TemporaryDirectory(prefix="nbtrack-load-") as tmp:
        if db is None and backend == "postgres":
            cluster = PostgresCluster(durable=not args.fast_pg)
            cluster.start()
            db = cluster.create_database()
        elif db is None:
            db = f"sqlite:///{tmp}/load.db"
        key = _bench_key(db)
        srv = start_server(Path(tmp) / "srv", db=db, state_file=Path(tmp) / "state.json")
        try:
            out = run_load(
                srv.url, key, procs=args.procs, runs=args.runs, steps=args.steps, chunk=args.chunk
            )
        finally:
            srv.stop()
            if cluster is not None:
                cluster.stop()
    durable = backend == "sqlite" or args.db is not None or not args.fast_pg
    return {"backend": backend, "durable": durable, **out}


def bench_replicas(levels: list[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The load through nginx (TLS, round-robin) over 1..N replicas on one database/store."""
    import os

    from helpers.nginx import start_nginx
    from helpers.postgres import PostgresCluster
    from helpers.s3 import start_s3
    from helpers.server import start_server

    out = []
    with tempfile.TemporaryDirectory(prefix="nbtrack-scale-") as tmp:
        base = Path(tmp)
        s3 = start_s3(base / "moto.log")
        saved = dict(os.environ)
        os.environ.update(s3.env())
        cluster = None
        try:
            db = args.db
            if db is None:
                cluster = PostgresCluster(durable=not args.fast_pg)
                cluster.start()
                db = cluster.create_database()
            key = _bench_key(db)
            files = s3.bucket("bench") + "/runs"
            for n in levels:
                replicas = [
                    start_server(base / f"n{n}-r{i}", db=db, files=files, timeout=30,
                                 trusted_proxies="127.0.0.1", state_file=base / f"n{n}-{i}.json")
                    for i in range(n)
                ]
                lb = start_nginx(base / f"nginx{n}", [f"127.0.0.1:{r.port}" for r in replicas])
                os.environ["REQUESTS_CA_BUNDLE"] = str(lb.cert)  # the load's processes trust it
                try:
                    r = run_load(lb.url, key, procs=args.procs, runs=args.runs,
                                 steps=args.steps, chunk=args.chunk, tag=f"n{n}-")
                finally:
                    lb.stop()
                    for srv in replicas:
                        srv.stop()
                out.append({"replicas": n, "durable": args.db is not None or not args.fast_pg,
                            **r})
                lat = r["latency_ms"]
                print(f"{n} replica(s): {r['rows_per_s']} rows/s ({r['seconds']} s,"
                      f" {r['posts']} posts), latency ms p50 {lat['p50']} p99 {lat['p99']}"
                      f" max {lat['max']}", flush=True)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            s3.stop()
            if cluster is not None:
                cluster.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--db", help="an existing database URL instead of a private one")
    p.add_argument("--procs", type=int, default=8)
    p.add_argument("--runs", type=int, default=32)
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--chunk", type=int, default=200, help="rows per file_stream post")
    p.add_argument("--json", type=Path, help="write the figures here")
    p.add_argument(
        "--fast-pg",
        action="store_true",
        help="the private PostgreSQL without fsync / synchronous commit (as in the tests)",
    )
    p.add_argument("--replicas", help="e.g. 1,2,3: replicas behind nginx on one PostgreSQL"
                   " and one S3 store, instead of the backend comparison")
    args = p.parse_args(argv)
    if args.replicas:
        results = bench_replicas([int(n) for n in args.replicas.split(",")], args)
        print("\n| replicas | rows/s | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|")
        for r in results:
            lat = r["latency_ms"]
            print(f"| {r['replicas']} | {r['rows_per_s']} | {lat['p50']} | {lat['p99']} |"
                  f" {lat['max']} |")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
        return 0
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for b in backends:
        r = bench(b, args.db, args)
        results.append(r)
        lat = r["latency_ms"]
        print(
            f"{b:9s} {r['runs']} runs x {r['steps']} steps from {r['processes']} processes:"
            f" {r['rows_per_s']} rows/s ({r['seconds']} s, {r['posts']} posts),"
            f" latency ms p50 {lat['p50']} p90 {lat['p90']} p99 {lat['p99']} max {lat['max']}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

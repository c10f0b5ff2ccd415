#!/usr/bin/env python3
"""Time the GraphQL reads ``wandb.Api()`` sends, against a real server (SQLite).

Starts ``python -m nbtrack.server`` in a temporary directory, creates ``--runs`` runs in one
project (config, tags, a summary each) and one run of ``--steps`` history rows through
``file_stream``, then times, over HTTP on 127.0.0.1, the queries the official client sends:
a page of ``Runs`` with ``runCount`` (filtered and ordered, and not), ``history(samples:
500)``, ``historyKeys`` (first and cached), ``sampledHistory`` of one key, and a whole
``scan_history`` as wandb-core pages it (``history(minStep, maxStep, samples)`` pages of
1,000 steps). Prints a Markdown table (docs/compatibility.md quotes it).

    python benchmarks/public_api.py [--runs 2000] [--steps 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from history_query import start, timed  # the same server start

RUNS_Q = """query Runs($entity: String!, $filters: JSONString, $order: String) {
  project(name: "bench", entityName: $entity) {
    internalId runCount(filters: $filters)
    runs(filters: $filters, order: $order, first: 50) {
      edges { node { id name displayName state tags config summaryMetrics createdAt }
              cursor }
      pageInfo { endCursor hasNextPage } } } }"""
RUN_Q = """query R($entity: String!, $f: Boolean!, $k: Boolean!, $s: Boolean!,
                   $lo: Int64, $hi: Int64, $n: Int, $spec: JSONString!) {
  project(name: "bench", entityName: $entity) { run(name: "long") {
    history(samples: $n, minStep: $lo, maxStep: $hi) @include(if: $f)
    historyKeys @include(if: $k)
    sampledHistory(specs: [$spec]) @include(if: $s) } } }"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="nbtrack-bench-") as tmp:
        proc, url, token = start(Path(tmp))
        s = requests.Session()
        s.auth = ("api", token)

        def gql(query: str, **variables: Any) -> Any:
            r = s.post(url + "/graphql", json={"query": query, "variables": variables},
                       timeout=600)
            r.raise_for_status()
            out = r.json()
            if out.get("errors"):
                raise RuntimeError(out["errors"])
            return out["data"]

        try:
            entity = s.get(url + "/api/v1/viewer", timeout=10).json()["entity"]
            up = ("mutation($n: String, $c: JSONString, $m: JSONString, $t: [String!]) {"
                  " upsertBucket(input: {name: $n, modelName: \"bench\", config: $c,"
                  " summaryMetrics: $m, tags: $t}) { bucket { id } } }")
            t0 = time.perf_counter()
            for i in range(args.runs):
                cfg = {"lr": {"value": rng.choice([0.1, 0.01, 0.001])},
                       "batch": {"value": rng.choice([32, 64, 128])},
                       "model": {"value": {"layers": rng.randint(1, 12), "act": "gelu"}}}
                gql(up, n=f"r{i}", c=json.dumps(cfg),
                    m=json.dumps({"loss": rng.random(), "acc": rng.random()}),
                    t=rng.sample(["a", "b", "c", "d"], 2))
            t_runs = time.perf_counter() - t0
            gql(up, n="long")
            path = f"{entity}/bench/long"
            t0 = time.perf_counter()
            for off in range(0, args.steps, 20_000):
                lines = [json.dumps({"_step": i, "loss": 1 / (i + 1), "acc": i / args.steps,
                                     "lr": 1e-3, "_runtime": i * 0.01})
                         for i in range(off, min(args.steps, off + 20_000))]
                body = {"files": {"wandb-history.jsonl": {"offset": off, "content": lines}}}
                s.post(f"{url}/files/{path}/file_stream", json=body,
                       timeout=600).raise_for_status()
            t_rows = time.perf_counter() - t0

            def repeat(fn: Any) -> float:
                return statistics.median(timed(fn)[0] for _ in range(args.repeat)) * 1000

            spec = json.dumps({"keys": ["_step", "loss"], "samples": 500})
            run = {"entity": entity, "f": False, "k": False, "s": False, "spec": spec}
            flt = json.dumps({"$and": [{"config.lr": {"$gte": 0.01}}, {"tags": {"$in": ["a"]}},
                                       {"config.model.layers": {"$gt": 4}}]})
            cold_keys, _ = timed(lambda: gql(RUN_Q, **{**run, "k": True}))
            cold_plain, _ = timed(lambda: gql(RUNS_Q, entity=entity))
            cold_flt, _ = timed(lambda: gql(RUNS_Q, entity=entity, filters=flt,
                                            order="-summary_metrics.loss"))
            results = [
                ("Runs page of 50 + runCount, no filter, +created_at: first (reads the project)",
                 cold_plain * 1000),
                ("the same again (the kept listing)", repeat(lambda: gql(RUNS_Q, entity=entity))),
                ("Runs page of 50 + runCount, 3-part filter, -summary_metrics.loss: first",
                 cold_flt * 1000),
                ("the same again (the kept listing)",
                 repeat(lambda: gql(RUNS_Q, entity=entity, filters=flt,
                                    order="-summary_metrics.loss"))),
                ("history(samples: 500) of the long run",
                 repeat(lambda: gql(RUN_Q, **{**run, "f": True, "n": 500}))),
                ("historyKeys, first call (reads every row)", cold_keys * 1000),
                ("historyKeys, cached", repeat(lambda: gql(RUN_Q, **{**run, "k": True}))),
                ("sampledHistory(loss, 500 samples)",
                 repeat(lambda: gql(RUN_Q, **{**run, "s": True}))),
            ]

            def scan() -> int:
                n = 0
                for lo in range(0, args.steps, 1000):
                    n += len(gql(RUN_Q, **{**run, "f": True, "lo": lo, "hi": lo + 1000,
                                           "n": 1000})["project"]["run"]["history"])
                return n

            page_q = RUNS_Q.replace("$order: String)", "$order: String, $c: String)").replace(
                "first: 50)", "first: 50, after: $c)")

            def list_all() -> int:
                n, cursor = 0, None
                while True:
                    got = gql(page_q, entity=entity, filters=flt, c=cursor)["project"]["runs"]
                    n += len(got["edges"])
                    if not got["pageInfo"]["hasNextPage"]:
                        return n
                    cursor = got["pageInfo"]["endCursor"]

            def list_all_unfiltered() -> int:
                n, cursor = 0, None
                while True:
                    got = gql(page_q, entity=entity, c=cursor)["project"]["runs"]
                    n += len(got["edges"])
                    if not got["pageInfo"]["hasNextPage"]:
                        return n
                    cursor = got["pageInfo"]["endCursor"]

            t_list, listed = timed(list_all_unfiltered)
            assert listed == args.runs + 1, listed
            results.append((f"every run, pages of 50 ({-(-listed // 50)} requests)",
                            t_list * 1000))
            t_flist, _ = timed(list_all)
            results.append(("every run matching the 3-part filter, pages of 50", t_flist * 1000))
            t_scan, scanned = timed(scan)
            assert scanned == args.steps, scanned
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"public API reads: {args.runs:,} runs in one project, one run of {args.steps:,} "
          f"rows, SQLite, over HTTP on 127.0.0.1 (median of {args.repeat})\n")
    print(f"setup: {args.runs:,} upsertBucket {t_runs:.1f} s, {args.steps:,} rows "
          f"{t_rows:.1f} s\n")
    print("| query | ms |")
    print("|---|---:|")
    for label, ms in results:
        print(f"| {label} | {ms:.1f} |")
    print(f"| whole scan_history as wandb-core pages it ({args.steps // 1000} pages of 1,000)"
          f" | {t_scan * 1000:.0f} ({args.steps / t_scan:,.0f} rows/s) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Price the strict-JSON rewrite of stored history lines: time a whole 100,000-row history
read (``GET .../history``, the path that splices stored lines unparsed) with and without
non-finite values, against this tree's server and, with ``--before``, another tree's.

Starts real tracking servers on SQLite in temporary directories (``--before DIR`` starts a
second one with ``PYTHONPATH=DIR``, e.g. a ``git archive`` of the commit before the change)
and streams the same runs of ``--rows`` rows through ``file_stream`` to each (7 keys a row,
written by Python's ``json`` as clients do): every value finite; finite with "NaN" inside a
string; 1 % of the rows with a NaN; every row with NaN and ±inf. Then reads each run's whole
history ``--repeat`` times over HTTP on 127.0.0.1, alternating the servers so both see the
same machine load, and prints a Markdown table: median ms, p95 ms, MB, strict JSON or not.

    python benchmarks/history_nonfinite.py [--rows 100000] [--repeat 15] [--before DIR]

``--in-process`` times only the answer's encoding, without HTTP or storage: the splice the
read API did before (bare tokens passed through) against ``wirejson.join_rows`` + ``dumps``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import requests

CASES = {  # label: (every n-th row has a NaN loss (1: all, with ±inf too), the note text)
    "finite": (0, "plain"),
    "finite, 'NaN' inside a string": (0, "NaN-free"),
    "1 % of rows NaN": (100, "plain"),
    "every row NaN / ±inf": (1, "plain"),
}


def row(step: int, every: int, note: str) -> str:
    loss = 2.0 / (1 + 1e-4 * step) + 0.01 * math.sin(step / 50)
    grad = 1.0 + 0.1 * math.cos(step / 300)
    if every and step % every == 0:
        loss = math.nan
    if every == 1:
        grad = math.inf if step % 2 else -math.inf
    return json.dumps({"_step": step, "_runtime": step * 0.01, "_timestamp": 1.7e9 + step * 0.01,
                       "loss": loss, "acc": min(0.999, step / 1.2e5), "grad_norm": grad,
                       "note": note})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def strict(body: bytes) -> bool:
    def refuse(token: str) -> None:
        raise ValueError(token)

    try:
        json.loads(body, parse_constant=refuse)
    except ValueError:
        return False
    return True


class Server:
    def __init__(self, directory: str, pythonpath: str | None) -> None:
        port, token = free_port(), secrets.token_hex(20)
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nbtrack.server", "--port", str(port), "--dir", directory,
             "--token", token, "--no-state-file"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        self.s = requests.Session()
        self.s.auth = ("api", token)
        for _ in range(300):
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        self.entity = self.s.post(self.url + "/graphql", json={"query": "{ viewer { entity } }"},
                                  timeout=10).json()["data"]["viewer"]["entity"]

    def store(self, name: str, lines: list[str]) -> None:
        self.s.post(self.url + "/graphql", timeout=10, json={
            "query": "mutation($n: String) { upsertBucket(input: {name: $n, "
                     "modelName: \"bench\"}) { bucket { id } } }", "variables": {"n": name}})
        for a in range(0, len(lines), 20_000):
            r = self.s.post(f"{self.url}/files/{self.entity}/bench/{name}/file_stream",
                            timeout=120, json={"files": {"wandb-history.jsonl": {
                                "offset": a, "content": lines[a:a + 20_000]}}})
            r.raise_for_status()

    def read(self, name: str) -> tuple[float, bytes]:
        t0 = time.perf_counter()
        r = self.s.get(f"{self.url}/api/v1/runs/{self.entity}/bench/{name}/history", timeout=120)
        body = r.content
        return (time.perf_counter() - t0) * 1000, body

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def in_process(rows: int, repeat: int) -> None:
    from nbtrack.server import wirejson

    class OldRaw(bytes):
        pass

    def before(lines: list[str]) -> bytes:  # readapi before: a bytes subclass, then bytes()
        return bytes(OldRaw(b'{"rows": [' + ",".join(lines).encode() + b"]}"))

    def after(lines: list[str]) -> bytes:
        return wirejson.dumps(wirejson.join_rows(lines))

    print(f"| {rows:,} stored lines | before ms | after ms | after - before ms |")
    print("|---|---:|---:|---:|")
    for label, (every, note) in CASES.items():
        lines = [row(i, every, note) for i in range(rows)]
        a: list[float] = []
        b: list[float] = []
        for _ in range(repeat):
            for f, out in ((before, a), (after, b)):
                t0 = time.perf_counter()
                f(lines)
                out.append((time.perf_counter() - t0) * 1000)
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"| {label} | {ma:.1f} | {mb:.1f} | {mb - ma:+.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--before", help="a kernel/ directory with the code to compare against")
    ap.add_argument("--in-process", action="store_true", help="time the encoding only")
    args = ap.parse_args()
    if args.in_process:
        in_process(args.rows, args.repeat)
        return
    with tempfile.TemporaryDirectory() as tmp:
        servers = {"now": Server(os.path.join(tmp, "now"), None)}
        if args.before:
            servers["before"] = Server(os.path.join(tmp, "before"), args.before)
        try:
            head = " | ".join(f"{n} median ms | {n} p95 ms" for n in servers)
            print(f"| {args.rows:,} rows | {head} | MB | strict JSON ({', '.join(servers)}) |")
            print("|---|" + "---:|---:|" * len(servers) + "---:|---|")
            for n, (label, (every, note)) in enumerate(CASES.items()):
                lines = [row(i, every, note) for i in range(args.rows)]
                for srv in servers.values():
                    srv.store(f"r{n}", lines)
                times: dict[str, list[float]] = {k: [] for k in servers}
                bodies: dict[str, bytes] = {}
                for _ in range(args.repeat):
                    for k, srv in servers.items():
                        ms, bodies[k] = srv.read(f"r{n}")
                        times[k].append(ms)
                cells = []
                for k in servers:
                    ts = sorted(times[k])
                    p95 = ts[min(len(ts) - 1, int(len(ts) * 0.95))]
                    cells.append(f"{statistics.median(ts):.1f} | {p95:.1f}")
                size = len(bodies["now"]) / 1e6
                flags = ", ".join(str(strict(bodies[k])) for k in servers)
                print(f"| {label} | {' | '.join(cells)} | {size:.1f} | {flags} |", flush=True)
        finally:
            for srv in servers.values():
                srv.stop()


if __name__ == "__main__":
    main()

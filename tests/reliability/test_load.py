"""Load: several processes, two runs each, logging into one server at the same time.

Every row is stored, no "database is locked" (nor any 5xx) reaches a client, and the
client-side latency of every HTTP request is reported (p50/p95/p99/max).
Short: 4 runs in 2 processes x 5,000 steps; long: 8 runs in 4 processes x 50,000.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import nbtrack

from helpers.reliability import pick, record_figure

PROCS = pick(2, 4)
STEPS = pick(20_000, 50_000)

CHILD = textwrap.dedent("""
    import json, logging, os, sys, time
    import requests
    timings, statuses = [], {}
    original = requests.Session.request
    def timed(self, method, url, *a, **kw):
        t0 = time.perf_counter()
        try:
            r = original(self, method, url, *a, **kw)
        except Exception:
            timings.append(("error", time.perf_counter() - t0))
            raise
        timings.append((url.rsplit("/", 1)[-1].split("?")[0], time.perf_counter() - t0))
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        return r
    requests.Session.request = timed
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import nbtrack
    steps, tag = int(sys.argv[1]), sys.argv[2]
    runs = [nbtrack.init(project="load", name=f"{tag}-{k}", mode="online", reinit=False,
                         config={"proc": tag, "k": k}) for k in range(2)]
    for i in range(steps):
        for k, run in enumerate(runs):
            run.log({"i": i, "loss": 1.0 / (i + 1), "k": k})
    for run in runs:
        run.finish(timeout=600, quiet=True)
    print(json.dumps({"paths": [r.path for r in runs], "states": [r.state for r in runs],
                      "timings": timings, "statuses": statuses}), flush=True)
""")


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def test_concurrent_runs_store_every_row(nbtrack_dir: Path, live_server: Any) -> None:
    env = dict(os.environ, NBTRACK_DIR=str(nbtrack_dir), NBTRACK_BASE_URL=live_server.url,
               NBTRACK_API_KEY=live_server.token)
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(STEPS), f"p{n}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for n in range(PROCS)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=1800)
        assert p.returncode == 0, err[-3000:]
        assert "locked" not in err.lower(), err[-3000:]
        outs.append((json.loads(out.strip().splitlines()[-1]), err))
    wall = time.monotonic() - t0
    api = nbtrack.Api(live_server.url, live_server.token)
    timings: list[tuple[str, float]] = []
    statuses: dict[str, int] = {}
    stored_total = 0
    for data, _err in outs:
        assert data["states"] == ["finished", "finished"]
        timings += [tuple(t) for t in data["timings"]]
        for code, n in data["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
        for path in data["paths"]:
            rows = api.run(path).history(keys=["i"])
            assert [r["_step"] for r in rows] == list(range(STEPS)), path
            stored_total += len(rows)
    assert not any(int(code) >= 500 for code in statuses), statuses
    assert not any(kind == "error" for kind, _ in timings), "connection errors under load"
    server_log = "".join(p.read_text(errors="replace")
                         for p in live_server.dir.rglob("*.log"))
    assert "database is locked" not in server_log
    ms = [t * 1000 for _, t in timings]
    posts = [t * 1000 for kind, t in timings if kind == "file_stream"]
    record_figure("load", processes=PROCS, runs=2 * PROCS, steps_per_run=STEPS,
                  rows_expected=2 * PROCS * STEPS, rows_stored=stored_total,
                  requests=len(ms), statuses=statuses, wall_s=round(wall, 1),
                  p50_ms=round(_pct(ms, 0.5), 1), p95_ms=round(_pct(ms, 0.95), 1),
                  p99_ms=round(_pct(ms, 0.99), 1), max_ms=round(max(ms), 1),
                  file_stream_p50_ms=round(_pct(posts, 0.5), 1),
                  file_stream_p99_ms=round(_pct(posts, 0.99), 1))
    assert stored_total == 2 * PROCS * STEPS

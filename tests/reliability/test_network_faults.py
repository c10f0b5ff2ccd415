"""Seeded fault schedules between the sender and the real server.

Invariant after ``finish``: the server holds exactly the logged rows (none missing,
none twice, same values), the logged summary and config, and the state ``finished``.
Short: 5 seeds; long: 100 seeds with three rounds of every fault kind each.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import nbtrack

from helpers.faults import FAULT_KINDS, ChaosProxy, make_schedule
from helpers.reliability import pick, record_figure
from helpers.wait import wait_until

SEEDS = list(range(int(os.environ.get("NBTRACK_SEEDS") or pick(5, 100))))
ROUNDS = int(os.environ.get("NBTRACK_ROUNDS") or pick(1, 3))
STEPS = pick(3_000, 10_000)


def _run_with_faults(server: Any, seed: int, steps: int, rounds: int) -> dict[str, Any]:
    schedule = make_schedule(seed, rounds=rounds, max_gap=pick(1, 2))
    proxy = ChaosProxy(server.url, schedule, delay_seconds=2.5)
    t0 = time.monotonic()
    try:
        run = nbtrack.init(project="chaos", mode="online", base_url=proxy.url,
                           api_key=server.token, config={"seed": seed, "lr": 0.1,
                                                         "nested": {"a": [1, 2]}})
        run.config["late"] = "yes"
        # log in chunks until the whole schedule has been used (at least ``steps`` rows);
        # after each chunk, wait until the proxy has handled one more request, so the rows
        # are spread over many posts and every fault meets a request with rows in it
        i = 0
        deadline = time.monotonic() + 120
        while i < steps or (proxy.remaining() and time.monotonic() < deadline):
            handled = len(proxy.log)
            for _ in range(500):
                run.log({"i": i, "x": i * 0.5, "name": f"s{i}"})
                i += 1
            wait_until(lambda n=handled: len(proxy.log) > n, timeout=60,
                       message=lambda: f"no request reached the proxy; faults {proxy.counts()}")
        steps = i
        run.summary["best"] = 42
        run.finish(timeout=180, quiet=True)
        elapsed = time.monotonic() - t0
        state = run.state
    finally:
        proxy.close()
    api = nbtrack.Api(server.url, server.token)
    stored = api.run(run.path)
    rows = stored.history()
    steps_seen = [r["_step"] for r in rows]
    return {"seed": seed, "state": state, "server_state": stored.state,
            "expected": steps, "stored": len(rows), "distinct": len(set(steps_seen)),
            "rows": rows, "summary": stored.summary, "config": stored.config,
            "faults": proxy.counts(), "unused": proxy.remaining(), "seconds": elapsed}


@pytest.mark.parametrize("seed", SEEDS)
def test_seeded_fault_schedule_loses_nothing(nbtrack_dir: Path, live_server: Any,
                                             short_client_timeout: float, seed: int) -> None:
    out = _run_with_faults(live_server, seed, STEPS, ROUNDS)
    record_figure("network_faults", **{k: v for k, v in out.items()
                                       if k not in ("rows", "summary", "config")})
    assert out["state"] == "finished", out["state"]
    assert out["server_state"] == "finished"
    # every fault kind was actually exercised
    assert out["unused"] == 0, "the run ended before the whole schedule was used"
    assert set(FAULT_KINDS) <= set(out["faults"]), out["faults"]
    rows = out["rows"]
    n = out["expected"]
    assert [r["_step"] for r in rows] == list(range(n)), "missing or duplicated rows"
    assert [r["i"] for r in rows] == list(range(n))
    assert all(r["x"] == r["i"] * 0.5 and r["name"] == f"s{r['i']}" for r in rows)
    assert out["summary"]["i"] == n - 1
    assert out["summary"]["best"] == 42
    assert out["config"]["seed"] == seed
    assert out["config"]["nested"] == {"a": [1, 2]}
    assert out["config"]["late"] == "yes"

"""Memory stays bounded: a long run, and a run whose server stalls (backpressure).

Each case runs in a fresh subprocess and reports its RSS (psutil) at checkpoints;
the bound is on the growth after warm-up, so it is independent of the machine.
Short: 1M steps; long: 10M steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from helpers.faults import ChaosProxy
from helpers.reliability import pick, record_figure

# bounds on time and memory: run alone, not beside other pytest workers (scripts/test.sh)
pytestmark = pytest.mark.solo

CHILD = textwrap.dedent("""
    import json, os, sys, time, psutil
    import nbtrack
    steps = int(sys.argv[1])
    proc = psutil.Process()
    run = nbtrack.init(project="mem", mode="online")
    marks = {}
    t0 = time.monotonic()
    check = max(steps // 10, 1)
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "acc": i * 1e-7, "lr": 0.001, "epoch": i // 1000})
        if i % check == check - 1:
            marks[i + 1] = proc.memory_info().rss
            print(json.dumps({"progress": i + 1}), flush=True)
    loop = time.monotonic() - t0
    rss_loop = proc.memory_info().rss
    stream = run._stream
    blocked = stream.blocked_seconds if stream is not None else 0.0
    run.finish(timeout=float(os.environ.get("FINISH_TIMEOUT", "600")), quiet=True)
    # VmHWM: this process's own high-water mark (ru_maxrss would include the parent's,
    # inherited across fork)
    with open("/proc/self/status") as f:
        hwm = [int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM")][0]
    print(json.dumps({"marks": marks, "loop_s": loop, "rss_end_of_loop": rss_loop,
                      "peak_rss": hwm,
                      "blocked_s": blocked, "state": run.state, "path": run.path}), flush=True)
""")


def _child(home: Path, url: str, token: str, steps: int, **env: str) -> dict[str, Any]:
    full = dict(os.environ, NBTRACK_DIR=str(home), NBTRACK_BASE_URL=url,
                NBTRACK_API_KEY=token, **env)
    done = subprocess.run([sys.executable, "-c", CHILD, str(steps)], capture_output=True,
                          text=True, env=full, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("steps", [pick(300_000, 10_000_000)])
def test_long_run_memory_is_bounded(nbtrack_dir: Path, live_server: Any, steps: int) -> None:
    out = _child(nbtrack_dir, live_server.url, live_server.token, steps)
    marks = {int(k): v for k, v in out["marks"].items()}
    first = marks[min(marks)]
    growth = max(marks.values()) - first
    mb = 1024 * 1024
    record_figure("memory_long_run", steps=steps, rss_at_10pct_mb=round(first / mb, 1),
                  max_rss_during_loop_mb=round(max(marks.values()) / mb, 1),
                  growth_after_10pct_mb=round(growth / mb, 1),
                  peak_rss_mb=round(out["peak_rss"] / mb, 1), loop_s=round(out["loop_s"], 1),
                  state=out["state"])
    assert out["state"] == "finished"
    assert growth < 64 * mb, f"RSS grew {growth / mb:.0f} MB after the first 10%"
    assert out["peak_rss"] < 400 * mb


def test_stalled_server_backlog_is_bounded(nbtrack_dir: Path, live_server: Any) -> None:
    """The server never answers file_stream posts: the backlog stays bounded (log() is
    slowed down or the rows wait on disk), memory does not grow with the rows."""
    steps = int(os.environ.get("STALL_STEPS") or pick(300_000, 3_000_000))
    proxy = ChaosProxy(live_server.url, on_request=lambda m, p, b: "hold"
                       if "file_stream" in p else None)
    try:
        out = _child(nbtrack_dir, proxy.url, live_server.token, steps, FINISH_TIMEOUT="3")
    finally:
        proxy.close()
    marks = {int(k): v for k, v in out["marks"].items()}
    first = marks[min(marks)]
    growth = max(marks.values()) - first
    mb = 1024 * 1024
    record_figure("memory_stalled_server", steps=steps,
                  growth_after_10pct_mb=round(growth / mb, 1),
                  peak_rss_mb=round(out["peak_rss"] / mb, 1),
                  log_blocked_s=round(out["blocked_s"], 2), state=out["state"])
    assert out["state"] == "detached"  # nothing was acknowledged: finish detaches
    # bounded by design: queues (3 x 32 MiB) + the sender's pending lines (64 MiB)
    assert growth < 160 * mb, f"RSS grew {growth / mb:.0f} MB while the server stalled"
    if steps >= 1_500_000:  # long enough to reach the bound: the last 30% is flat
        late = [v for k, v in sorted(marks.items()) if k > steps * 0.7]
        assert max(late) - min(late) < 16 * mb, marks

"""One measurement in a fresh process: ``python bench_worker.py TOOL WORKLOAD PARAMS_JSON OUT``.

Started by ``benchmarks/run.py`` (under the tool's own interpreter), never imported by it.
Writes one JSON object to OUT: ``{"tool", "workload", "ok", "metrics": {...}, "error"}``.
Uses only the standard library plus numpy (``numpy`` workload) and psutil (RSS).
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_tools

Metrics = dict[str, Any]


def _keys(n: int) -> list[tuple[str, float]]:
    return [(f"metric_{j}", float(j)) for j in range(n)]


def _row(keys: list[tuple[str, float]], i: int) -> dict[str, float]:
    x = i * 1e-3
    return {k: x + off for k, off in keys}


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _maxrss() -> int:
    # VmHWM, not ru_maxrss: ru_maxrss survives exec and would report the parent's peak
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) * 1024


def _pct(sorted_ns: list[int], q: float) -> float:
    idx = min(len(sorted_ns) - 1, round(q * (len(sorted_ns) - 1)))
    return sorted_ns[idx] / 1000.0  # µs


def _tracker(tool: str, workdir: Path) -> tuple[bench_tools.Tracker, float]:
    t0 = time.perf_counter()
    tracker = bench_tools.make(tool, workdir)
    return tracker, time.perf_counter() - t0


def w_latency(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    n = int(p["n"])
    keys = _keys(int(p.get("keys", 10)))
    tracker, _ = _tracker(tool, workdir)
    run = tracker.start("latency")
    log = run.log
    clock = time.perf_counter_ns
    durations = [0] * n
    rows = [_row(keys, i) for i in range(min(n, 1000))]
    gc.collect()
    t0 = time.perf_counter()
    for i in range(n):
        d = dict(rows[i % 1000])
        a = clock()
        log(d)
        durations[i] = clock() - a
    loop_s = time.perf_counter() - t0
    f0 = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - f0
    tracker.close()
    durations.sort()
    return {
        "p50_us": _pct(durations, 0.50), "p90_us": _pct(durations, 0.90),
        "p99_us": _pct(durations, 0.99), "p999_us": _pct(durations, 0.999),
        "max_us": durations[-1] / 1000.0, "mean_us": sum(durations) / n / 1000.0,
        "calls_over_1ms": sum(1 for d in durations if d > 1_000_000),
        "loop_s": loop_s, "finish_s": finish_s, "n": n,
    }


def w_loop(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    """n steps of `keys` floats, loop + finish; the finish time is the 'finish after n' figure."""
    n = int(p["n"])
    keys = _keys(int(p.get("keys", 10)))
    tracker, _ = _tracker(tool, workdir)
    run = tracker.start("loop")
    log = run.log
    gc.collect()
    t0 = time.perf_counter()
    for i in range(n):
        x = i * 1e-3
        log({k: x + off for k, off in keys})
    t1 = time.perf_counter()
    run.finish()
    t2 = time.perf_counter()
    tracker.close()
    out: Metrics = {"total_s": t2 - t0, "loop_s": t1 - t0, "finish_s": t2 - t1,
                    "steps_per_s": n / (t2 - t0), "n": n}
    if p.get("verify"):
        out["verify"] = run.verify(n)
    return out


def w_wide(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    steps = int(p["steps"])
    keys = _keys(int(p["keys"]))
    tracker, _ = _tracker(tool, workdir)
    run = tracker.start("wide")
    log = run.log
    gc.collect()
    t0 = time.perf_counter()
    for i in range(steps):
        x = i * 1e-3
        log({k: x + off for k, off in keys})
    t1 = time.perf_counter()
    run.finish()
    t2 = time.perf_counter()
    tracker.close()
    out: Metrics = {"total_s": t2 - t0, "loop_s": t1 - t0, "finish_s": t2 - t1,
                    "steps": steps, "keys": len(keys)}
    if p.get("verify"):
        out["verify"] = run.verify(steps)
    return out


def w_threads(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    """`threads` threads logging `n` steps in total into ONE run."""
    nthreads = int(p["threads"])
    per = int(p["n"]) // nthreads
    keys = _keys(int(p.get("keys", 10)))
    tracker, _ = _tracker(tool, workdir)
    run = tracker.start("threads")
    log = run.log
    barrier = threading.Barrier(nthreads + 1)

    def work(t: int) -> None:
        barrier.wait()
        base = t * per
        for i in range(base, base + per):
            x = i * 1e-3
            log({k: x + off for k, off in keys})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(nthreads)]
    for th in threads:
        th.start()
    gc.collect()
    t0 = time.perf_counter()
    barrier.wait()
    for th in threads:
        th.join()
    t1 = time.perf_counter()
    run.finish()
    t2 = time.perf_counter()
    tracker.close()
    out: Metrics = {"total_s": t2 - t0, "loop_s": t1 - t0, "finish_s": t2 - t1,
                    "threads": nthreads, "n": per * nthreads}
    if p.get("verify"):
        out["verify"] = run.verify(per * nthreads)
    return out


def w_runs(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    """`runs` runs open at once in one process; one thread logs round-robin into each."""
    nruns = int(p["runs"])
    per = int(p["n"]) // nruns
    keys = _keys(int(p.get("keys", 10)))
    tracker, _ = _tracker(tool, workdir)
    gc.collect()
    t0 = time.perf_counter()
    handles = [tracker.start(f"run{r}") for r in range(nruns)]
    t_init = time.perf_counter()
    logs = [h.log for h in handles]
    for i in range(per):
        x = i * 1e-3
        for log in logs:
            log({k: x + off for k, off in keys})
    t1 = time.perf_counter()
    for h in handles:
        h.finish()
    t2 = time.perf_counter()
    tracker.close()
    out: Metrics = {"total_s": t2 - t_init, "init_s": t_init - t0, "loop_s": t1 - t_init,
                    "finish_s": t2 - t1, "runs": nruns, "n": per * nruns}
    if p.get("verify"):
        checks = [h.verify(per) for h in handles]
        out["verify"] = {"ok": all(c.get("ok", True) for c in checks), "runs": checks}
    return out


def w_init(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    """Import, then init until the first log call returned (and a short finish)."""
    tracker, import_s = _tracker(tool, workdir)
    keys = _keys(10)
    t0 = time.perf_counter()
    run = tracker.start("init")
    t1 = time.perf_counter()
    run.log(_row(keys, 0))
    t2 = time.perf_counter()
    for i in range(1, 10):
        run.log(_row(keys, i))
    run.finish()
    t3 = time.perf_counter()
    tracker.close()
    return {"import_s": import_s, "init_s": t1 - t0, "init_first_log_s": t2 - t0,
            "finish10_s": t3 - t2}


def w_memory(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    """Peak RSS growth of this process over `n` steps (baseline: after init and one log)."""
    n = int(p["n"])
    keys = _keys(int(p.get("keys", 10)))
    tracker, _ = _tracker(tool, workdir)
    run = tracker.start("memory")
    log = run.log
    log(_row(keys, 0))
    gc.collect()
    rss0 = _rss()
    t0 = time.perf_counter()
    for i in range(1, n):
        x = i * 1e-3
        log({k: x + off for k, off in keys})
    t1 = time.perf_counter()
    run.finish()
    t2 = time.perf_counter()
    peak = _maxrss()
    rss_end = _rss()
    tracker.close()
    return {"rss_base_mb": rss0 / 2**20, "peak_rss_mb": peak / 2**20,
            "rss_delta_mb": (peak - rss0) / 2**20, "rss_end_delta_mb": (rss_end - rss0) / 2**20,
            "loop_s": t1 - t0, "finish_s": t2 - t1, "total_s": t2 - t0, "n": n}


def w_numpy(tool: str, p: dict[str, Any], workdir: Path) -> Metrics:
    """A NumPy MLP training step of ~1 ms; slowdown from logging 10 values every step.

    The steps run in ``blocks`` blocks, untracked and tracked in ABBA order (the run stays
    open all along); slowdown = tracked ms/step over untracked ms/step − 1.
    """
    import numpy as np

    steps = int(p["steps"])
    hidden = int(p.get("hidden", 512))
    batch = int(p.get("batch", 96))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, hidden)).astype(np.float32)
    y = rng.standard_normal((batch, 10)).astype(np.float32)
    w1 = (rng.standard_normal((hidden, hidden)) * 0.01).astype(np.float32)
    w2 = (rng.standard_normal((hidden, 10)) * 0.01).astype(np.float32)

    def step() -> tuple[float, float]:
        nonlocal w1, w2
        a = x @ w1
        r = np.maximum(a, 0)
        o = r @ w2
        g = (o - y) / batch
        gw2 = r.T @ g
        gr = g @ w2.T
        gr[a <= 0] = 0
        gw1 = x.T @ gr
        w1 -= 1e-4 * gw1
        w2 -= 1e-4 * gw2
        return float((g * g).sum()), float(np.abs(gw1).mean())

    def loop(log: Callable[[dict[str, Any]], None] | None, n: int) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            loss, gnorm = step()
            if log is not None:
                log({"loss": loss, "grad": gnorm, "lr": 1e-4, "step_in_epoch": i % 100,
                     "epoch": i // 100, "acc": 1.0 - loss, "val/loss": loss * 1.1,
                     "val/acc": 0.9, "time": 0.001, "tokens": i * 96})
        return time.perf_counter() - t0

    for _ in range(50):
        step()
    # Blocks of untracked and tracked steps in ABBA order with the run open throughout, so a
    # change of machine load during the measurement hits both sides alike.
    blocks = int(p.get("blocks", 8))
    per = max(steps // blocks, 10)
    tracker, _ = _tracker(tool, workdir)
    run = tracker.start("numpy")
    base: list[float] = []
    tracked: list[float] = []
    for b in range(blocks):
        if (b % 4) in (0, 3):
            base.append(loop(None, per))
        else:
            tracked.append(loop(run.log, per))
    f0 = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - f0
    tracker.close()
    b_total, t_total = sum(base), sum(tracked)
    b_steps, t_steps = per * len(base), per * len(tracked)
    ratio = (t_total / t_steps) / (b_total / b_steps)
    return {"base_ms_per_step": b_total / b_steps * 1e3,
            "tracked_ms_per_step": t_total / t_steps * 1e3,
            "slowdown_pct": (ratio - 1) * 100,
            "slowdown_median_block_pct": (statistics.median(tracked)
                                          / statistics.median(base) - 1) * 100,
            "slowdown_with_finish_pct": ((t_total + finish_s) / t_steps
                                         / (b_total / b_steps) - 1) * 100,
            "finish_s": finish_s, "steps": b_steps + t_steps, "blocks": blocks}


WORKLOADS: dict[str, Callable[[str, dict[str, Any], Path], Metrics]] = {
    "latency": w_latency, "loop": w_loop, "wide": w_wide, "threads": w_threads,
    "runs": w_runs, "init": w_init, "memory": w_memory, "numpy": w_numpy,
}


def main(argv: list[str]) -> int:
    tool, workload, params_json, out_path = argv[1:5]
    params = json.loads(params_json)
    result: dict[str, Any] = {"tool": tool, "workload": workload, "params": params, "ok": False}
    workdir = Path(params.get("workdir") or tempfile.mkdtemp(prefix=f"bench-{tool}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    try:
        result["metrics"] = WORKLOADS[workload](tool, params, workdir)
        result["ok"] = True
    except BaseException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()[-4000:]
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    # Some trackers leave non-daemon threads or atexit hooks that can hang: the result is
    # written, so leave at once (stage threads were finished by the workload).
    os._exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

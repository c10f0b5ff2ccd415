"""Image-logging loop: 100,000 steps of 10 floats, a 64x64 RGB image every 10 steps.

Scenarios, each in a fresh subprocess (imports and threads isolated), repeated ``--reps``
times, medians reported:

- ``nbtrack-scalars``: nbtrack offline, the loop without images (the baseline);
- ``nbtrack-images``: nbtrack offline, the same loop with ``nbtrack.Image`` every 10 steps;
- ``nbtrack-local-images``: the same in local mode (embedded server: the 10,000 PNGs are
  uploaded before finish returns);
- ``wandb-scalars`` / ``wandb-images``: wandb offline (``console="off"``, no system
  metrics), ``wandb.Image`` the same way, under the compat venv's interpreter
  (``tests/compat/venvs.py``; skipped when it is not there).

Figures: ``total_s`` (loop + finish, wall), ``finish_s``, the p50 / p99 of the scalar-only
``log()`` calls and of the calls carrying an image (each call timed with
``perf_counter_ns``; the arrays are built outside the timed window, one array reused and
mutated each time, as a training loop reuses its buffers).

    python benchmarks/media_loop.py [--steps 100000] [--reps 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WANDB_PY = Path.home() / ".cache/nbtrack/compat-venvs/wandb-py311/bin/python"

WORKER = r"""
import json, os, sys, time
import numpy as np
tool, mode, images, steps, every, out = sys.argv[1:7]
images, steps, every = images == "1", int(steps), int(every)
if tool == "wandb":
    import wandb
    run = wandb.init(project="bench-media", mode="offline", dir=os.environ["BENCH_DIR"],
                     settings=wandb.Settings(console="off", x_disable_stats=True))
    Image = wandb.Image
else:
    import nbtrack
    run = nbtrack.init(project="bench-media", mode=mode, console="off")
    Image = nbtrack.Image
rng = np.random.default_rng(0)
pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
keys = [f"m{i}" for i in range(10)]
scalar_ns, image_ns = [], []
clock = time.perf_counter_ns
t0 = time.perf_counter()
for step in range(steps):
    row = {k: step * 0.001 + j for j, k in enumerate(keys)}
    if images and step % every == 0:
        pixels[0, 0, 0] = step % 256  # the caller reuses its buffer
        row["sample"] = Image(pixels)
        a = clock(); run.log(row); image_ns.append(clock() - a)
    else:
        a = clock(); run.log(row); scalar_ns.append(clock() - a)
t1 = time.perf_counter()
run.finish() if tool == "wandb" else run.finish(quiet=True)
t2 = time.perf_counter()
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(int(len(xs) * q), len(xs) - 1)] / 1000.0 if xs else None
json.dump({"loop_s": t1 - t0, "finish_s": t2 - t1, "total_s": t2 - t0,
           "scalar_p50_us": pct(scalar_ns, 0.5), "scalar_p99_us": pct(scalar_ns, 0.99),
           "image_p50_us": pct(image_ns, 0.5), "image_p99_us": pct(image_ns, 0.99)},
          open(out, "w"))
"""

SCENARIOS: dict[str, tuple[str, str, bool]] = {
    "nbtrack-scalars": ("nbtrack", "offline", False),
    "nbtrack-images": ("nbtrack", "offline", True),
    "nbtrack-local-images": ("nbtrack", "local", True),
    "wandb-scalars": ("wandb", "offline", False),
    "wandb-images": ("wandb", "offline", True),
}


def run_one(name: str, steps: int, every: int) -> dict[str, Any]:
    tool, mode, images = SCENARIOS[name]
    python = str(WANDB_PY) if tool == "wandb" else sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-media-") as work:
        out = Path(work) / "out.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "WANDB_"))}
        env.update(NBTRACK_DIR=str(Path(work) / "home"), BENCH_DIR=work, WANDB_SILENT="true",
                   NBTRACK_STATS_INTERVAL="0", PYTHONPATH=str(ROOT / "kernel"))
        try:
            subprocess.run([python, "-c", WORKER, tool, mode, "1" if images else "0",
                            str(steps), str(every), str(out)], env=env, check=True,
                           timeout=1800, capture_output=True)
            return dict(json.loads(out.read_text()))
        finally:
            if tool == "nbtrack" and mode == "local":  # the detached server it started
                subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                "from nbtrack.client.localserver import stop_local_server; "
                                "stop_local_server(Path(sys.argv[1]))", env["NBTRACK_DIR"]],
                               env=env, capture_output=True, timeout=60)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    names = [n for n in args.scenarios.split(",") if n]
    if not WANDB_PY.exists():
        names = [n for n in names if not n.startswith("wandb")]
        print(f"wandb's venv {WANDB_PY} is missing: wandb left out", file=sys.stderr)
    raw: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for rep in range(args.reps):
        for name in names[rep % len(names):] + names[:rep % len(names)]:  # rotate the order
            result = run_one(name, args.steps, args.every)
            raw[name].append(result)
            print(f"rep {rep} {name}: " + ", ".join(
                f"{k}={v:.3f}" for k, v in result.items() if v is not None), flush=True)
    med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0] if rs[0][k] is not None}
           for n, rs in raw.items()}
    print(f"\nmedians of {args.reps} ({args.steps:,} steps, an image every {args.every}):")
    print(f"{'scenario':24} {'total s':>8} {'finish s':>9} {'scalar p50 us':>14} "
          f"{'scalar p99 us':>14} {'image p50 us':>13}")
    for n, m in med.items():
        print(f"{n:24} {m['total_s']:8.2f} {m['finish_s']:9.2f} {m['scalar_p50_us']:14.2f} "
              f"{m['scalar_p99_us']:14.2f} {m.get('image_p50_us', float('nan')):13.1f}")
    if "nbtrack-scalars" in med and "nbtrack-images" in med:
        ratio = med["nbtrack-images"]["total_s"] / med["nbtrack-scalars"]["total_s"]
        print(f"nbtrack offline, images / no images: {ratio:.2f}x (target <= 1.5x)")
    out = args.out or RESULTS / f"media-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"steps": args.steps, "every": args.every, "reps": args.reps,
                               "load": os.getloadavg(), "raw": raw, "medians": med},
                              indent=1))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

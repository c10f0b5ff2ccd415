"""The official ``wandb`` client logs media to nbtrack's server (run in its own venv).

    wandb_media.py PROJECT OUT_NPY   wandb.Image (uint8 RGB and grey), a list of Images,
                                     wandb.Histogram, a wandb.Table of plain cells; the
                                     arrays logged are saved to OUT_NPY for the test

Prints a ``RESULT {json}`` line the test reads.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import wandb


def main(project: str, out: str) -> None:
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (6, 9), dtype=np.uint8)
    values = rng.normal(size=500)
    run = wandb.init(project=project, name="wandb-media")
    run.log({"img": wandb.Image(rgb, caption="from wandb"), "loss": 1.0})
    run.log({"gallery": [wandb.Image(rgb), wandb.Image(grey)],
             "hist": wandb.Histogram(values, num_bins=16)})
    run.log({"table": wandb.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])})
    run_id = run.id
    run.finish()
    np.savez(out, rgb=rgb, grey=grey, values=values)
    print("RESULT " + json.dumps({"id": run_id, "entity": run.entity}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""The official ``wandb`` client logging media (run in its own venv by test_media_pages.py).

    media.py PROJECT ID STEPS   an image, a two-image gallery and a histogram every step,
                                a table at the last step; prints ``RESULT {json}``

Step s's image is a solid colour (s * 40 in the red channel), so a test can tell the steps
apart by pixels.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import wandb


def main(project: str, run_id: str, steps: int) -> None:
    run = wandb.init(project=project, id=run_id, name=f"media-{run_id}")
    rng = np.random.default_rng(int.from_bytes(run_id.encode(), "little") % 2**32)
    for s in range(steps):
        img = np.zeros((24, 32, 3), np.uint8)
        img[..., 0] = 40 * s + 20
        img[8:16, 8:24, 2 if run_id == "alpha" else 1] = 200  # the runs look apart
        row = {"loss": 1.0 / (s + 1),
               "sample": wandb.Image(img, caption=f"{run_id} step {s}"),
               "gallery": [wandb.Image(img, caption="plain"),
                           wandb.Image(255 - img, caption="inverted")],
               "weights": wandb.Histogram(rng.normal(s, 1.0 + s / 4, 2000))}
        if s == steps - 1:
            row["preds"] = wandb.Table(
                columns=["id", "label", "score"],
                data=[[i, f"class {(i * 7) % 5}", round(((i * 37) % 11) / 10, 2)]
                      for i in range(45)])
        run.log(row, step=s)
    run.finish()
    print("RESULT " + json.dumps({"id": run.id, "entity": run.entity}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))

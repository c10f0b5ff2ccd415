"""One client of the multi-replica test (tests/team/test_replicas.py), nbtrack's or wandb's.

    load_client.py nbtrack|wandb URL KEY PROJECT STEPS SECONDS FILE

Logs STEPS steps (paced to take about SECONDS), saves FILE with the run, finishes, and
prints ``RESULT {json}`` (the run's entity, id and the client's own final state). Run with
nbtrack's interpreter or with the official client's venv. At :func:`media_steps` the row
also holds an image of :func:`pixels` (nbtrack.Image / wandb.Image) and, at the middle one,
a gallery, a histogram of :func:`weights` and a table (nbtrack's with an image cell).
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib

import numpy as np


def media_steps(steps: int) -> tuple[int, ...]:
    """The steps whose rows carry media (the middle one also a gallery, histogram, table)."""
    return (7, steps // 2 + 3, steps - 1)


def pixels(project: str, step: int) -> np.ndarray:
    """The RGB image a client logs at ``step`` (the test decodes the stored PNG to it)."""
    rng = np.random.default_rng([zlib.crc32(project.encode()), step])
    return rng.integers(0, 256, (9 + step % 5, 12, 3), dtype=np.uint8)


def weights(project: str) -> np.ndarray:
    """The values of the histogram logged at the middle media step."""
    return np.random.default_rng(zlib.crc32(project.encode())).normal(size=300)


def _media(lib: object, project: str, step: int, middle: bool, cells: bool) -> dict[str, object]:
    """The media values of one row, made with ``lib`` (the nbtrack or the wandb module);
    ``cells``: the table's cells hold images too (nbtrack's; wandb's are plain)."""
    px = pixels(project, step)
    image, histogram, table = (getattr(lib, n) for n in ("Image", "Histogram", "Table"))
    row = {"sample": image(px, caption=f"step {step}")}
    if middle:
        cell = image(px) if cells else "plain"
        row.update(gallery=[image(px), image(255 - px)],
                   weights=histogram(weights(project), num_bins=16),
                   table=table(columns=["image", "label"], data=[[cell, "a"], [cell, "b"]]))
    return row


def main() -> None:
    client, url, key, project, steps_s, seconds_s, path = sys.argv[1:]
    steps, seconds = int(steps_s), float(seconds_s)
    if client == "wandb":
        os.environ.update(WANDB_BASE_URL=url, WANDB_API_KEY=key)
        import wandb

        run = wandb.init(project=project, config={"client": "wandb"})
        save = lambda: run.save(path, base_path=os.path.dirname(path), policy="now")  # noqa: E731
        lib = wandb
    else:
        import nbtrack

        run = nbtrack.init(project=project, mode="online", base_url=url, api_key=key,
                           config={"client": "nbtrack"})
        save = lambda: run.save(path)  # noqa: E731
        lib = nbtrack
    media = media_steps(steps)
    start = time.monotonic()
    for i in range(steps):
        row: dict[str, object] = {"loss": 1.0 / (i + 1), "i": i}
        if i in media:
            row.update(_media(lib, project, i, i == media[1], client == "nbtrack"))
        run.log(row)
        if i % 50 == 49:  # paced, so the run spans the faults the test injects
            ahead = start + seconds * (i + 1) / steps - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        if i == steps // 2:
            save()
    if client == "wandb":
        run.finish()
        state = "finished"
    else:
        run.finish(timeout=180, quiet=True)
        state = run.state
    print("RESULT " + json.dumps({"entity": run.entity, "id": run.id, "state": state}),
          flush=True)


if __name__ == "__main__":
    main()

"""One client of the multi-replica test (tests/team/test_replicas.py), nbtrack's or wandb's.

    load_client.py nbtrack|wandb URL KEY PROJECT STEPS SECONDS FILE

Logs STEPS steps (paced to take about SECONDS), saves FILE with the run, finishes, and
prints ``RESULT {json}`` (the run's entity, id and the client's own final state). Run with
nbtrack's interpreter or with the official client's venv.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    client, url, key, project, steps_s, seconds_s, path = sys.argv[1:]
    steps, seconds = int(steps_s), float(seconds_s)
    if client == "wandb":
        os.environ.update(WANDB_BASE_URL=url, WANDB_API_KEY=key)
        import wandb

        run = wandb.init(project=project, config={"client": "wandb"})
        save = lambda: run.save(path, base_path=os.path.dirname(path), policy="now")  # noqa: E731
    else:
        import nbtrack

        run = nbtrack.init(project=project, mode="online", base_url=url, api_key=key,
                           config={"client": "nbtrack"})
        save = lambda: run.save(path)  # noqa: E731
    start = time.monotonic()
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "i": i})
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

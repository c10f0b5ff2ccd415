"""Scripts for the official ``wandb`` client (run in its own venv by the compat tests).

    wandb_client.py log PROJECT STEPS SAVE_FILE   init with config, define_metric, STEPS logs
                                                  of four metrics, wandb.save, finish
    wandb_client.py resume PROJECT ID MODE STEPS  init(id=ID, resume=MODE), STEPS logs, finish

Prints ``RESULT {json}`` lines the test reads.
"""

from __future__ import annotations

import json
import math
import os
import sys

import wandb


def log(project: str, steps: int, save_file: str) -> None:
    run = wandb.init(project=project, config={"lr": 0.001, "batch": 64,
                                              "model": {"layers": 4, "act": "gelu"}},
                     name="compat-run", tags=["compat", "official"], notes="from wandb",
                     group="g1", job_type="train")
    run.define_metric("loss", summary="min")
    run.define_metric("acc", summary="max")
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "acc": i / steps, "lr": 0.001 * 0.999**i,
                 "wave": math.sin(i / 10)})
    run.config.update({"added_later": True})
    run.summary["note"] = "done"
    run.save(save_file, base_path=os.path.dirname(save_file), policy="now")
    run.alert(title="halfway", text="the loss went down")
    run_id = run.id
    run.finish()
    print("RESULT " + json.dumps({"id": run_id, "entity": run.entity}), flush=True)


def resume(project: str, run_id: str, mode: str, steps: int) -> None:
    run = wandb.init(project=project, id=run_id, resume=mode)
    first = run.starting_step
    for i in range(steps):
        run.log({"x": first + i})
    run.finish()
    print("RESULT " + json.dumps({"id": run.id, "starting_step": first}), flush=True)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "log":
        log(args[0], int(args[1]), args[2])
    elif cmd == "resume":
        resume(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit(f"unknown command {cmd!r}")

"""Wire details with the official ``wandb`` client (run in its own venv by test_wandb_wire.py).

    wire.py offline PROJECT ID STEPS         WANDB_MODE=offline run: STEPS rows, one alert
    wire.py killed PROJECT ID STEPS          STEPS rows, an alert at step 10, then SIGKILL
                                             of its own process (after the rows were posted)
    wire.py reuse PROJECT ID                 two runs with the same id and no ``resume``:
                                             30 rows, then 20 rows with other values
    wire.py stoppable PROJECT ID             logs until stopped (at most 90 s)

Prints ``RESULT {json}`` lines the test reads.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import wandb


def offline(project: str, run_id: str, steps: int) -> None:
    run = wandb.init(project=project, id=run_id, config={"lr": 0.1})
    for i in range(steps):
        run.log({"x": i, "y": 1.0 / (i + 1)})
    run.alert(title="offline alert", text="once")
    run.finish()
    print("RESULT " + json.dumps({"id": run_id, "dir": run.settings.sync_dir}), flush=True)


def killed(project: str, run_id: str, steps: int) -> None:
    """Needs WANDB_X_FILE_STREAM_TRANSMIT_INTERVAL=1 so the rows are posted before the kill."""
    run = wandb.init(project=project, id=run_id)
    for i in range(steps):
        run.log({"x": i})
        if i == 10:
            run.alert(title="early alert", text="before the kill")
    print("RESULT " + json.dumps({"id": run_id, "dir": run.settings.sync_dir}), flush=True)
    time.sleep(4)  # a few transmit intervals: the rows reach the server
    os.kill(os.getpid(), signal.SIGKILL)


def reuse(project: str, run_id: str) -> None:
    for k, steps in ((0, 30), (1, 20)):
        run = wandb.init(project=project, id=run_id, config={"attempt": k})
        for i in range(steps):
            run.log({"x": i + 1000 * k, f"only{k}": k})
        run.finish()
    print("RESULT " + json.dumps({"id": run_id}), flush=True)


def stoppable(project: str, run_id: str) -> None:
    """wandb polls its stop status every 15 s; the test makes it poll every 0.5 s."""
    from wandb.sdk.lib import run_stopping

    real_sleep = run_stopping._SLEEP
    run_stopping._SLEEP = lambda s: real_sleep(min(s, 0.5))
    run = wandb.init(project=project, id=run_id)
    print("STARTED", flush=True)
    t0, i = time.monotonic(), 0
    try:
        while time.monotonic() - t0 < 90:
            run.log({"x": i})
            i += 1
            time.sleep(0.02)
    except KeyboardInterrupt:  # wandb's stop: the main thread is interrupted
        print("RESULT " + json.dumps({"stopped": True, "steps": i}), flush=True)
        raise
    print("RESULT " + json.dumps({"stopped": False, "steps": i}), flush=True)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "offline":
        offline(args[0], args[1], int(args[2]))
    elif cmd == "killed":
        killed(args[0], args[1], int(args[2]))
    elif cmd == "reuse":
        reuse(args[0], args[1])
    elif cmd == "stoppable":
        stoppable(args[0], args[1])
    else:
        raise SystemExit(f"unknown command {cmd!r}")

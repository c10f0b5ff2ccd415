"""Adapters: one small class per tracker with the same three calls (start / log / finish).

Imported by ``bench_worker.py`` inside a fresh subprocess, possibly under a peer's own
virtual environment, so this module imports nothing but the standard library at load time;
each adapter imports its tracker in ``__init__`` (that import is timed separately).

Settings chosen for a fair comparison (nbtrack captures no console output and samples no
system metrics, so the peers are asked not to either):

- floor: ``queue.Queue.put(dict)`` in the user thread, one thread writing JSON lines.
- nbtrack: ``nbtrack.init(mode="local")`` (embedded server, found through
  ``$NBTRACK_DIR/server/state.json``), ``run.log(d)``, ``run.finish(quiet=True)``.
- wandb: ``mode="offline"``, ``WANDB_SILENT=true``, ``console="off"``,
  ``x_disable_stats=True``; everything else default (its Go ``wandb-core`` helper runs).
- trackio: local (no Space, no server): ``TRACKIO_DIR`` in the work dir,
  ``auto_log_cpu=False``, ``auto_log_gpu=False``, ``embed=False``.
- mlflow: tracking URI ``sqlite:///<work dir>/mlflow.db``, async logging:
  ``MlflowClient.log_batch(run_id, [Metric(k, v, ts, step)...], synchronous=False)`` (what
  ``mlflow.log_metrics(..., synchronous=False)`` does, without the ``get_run`` query it makes on
  every call when given a ``run_id``, which made it ~10 ms per call here); finish =
  ``flush_async_logging`` + ``set_terminated``. No system metrics.
- tensorboardx: ``SummaryWriter(logdir)``, ``add_scalar`` once per key, ``close()``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

TOOLS = ("nbtrack", "floor", "wandb", "trackio", "mlflow", "tensorboardx")


class RunHandle:
    """One run of a tracker."""

    def log(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError

    def verify(self, expected_rows: int) -> dict[str, Any]:
        """After finish: where the rows are (only nbtrack checks its log and server)."""
        return {}


class Tracker:
    name = "?"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def start(self, run_name: str) -> RunHandle:
        raise NotImplementedError

    def close(self) -> None:
        """After every run finished (process-wide cleanup)."""


# --------------------------------------------------------------------------- floor


class _FloorRun(RunHandle):
    def __init__(self, path: Path) -> None:
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._f = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed in finish
        self._thread = threading.Thread(target=self._loop, name="floor-writer", daemon=True)
        self._thread.start()
        self.log = self._q.put  # type: ignore[method-assign]  # the bare queue.put

    def _loop(self) -> None:
        get, write, dumps = self._q.get, self._f.write, json.dumps
        while True:
            item = get()
            if item is None:
                break
            write(dumps(item) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def finish(self) -> None:
        self._q.put(None)
        self._thread.join()
        self._f.close()


class Floor(Tracker):
    name = "floor"

    def start(self, run_name: str) -> RunHandle:
        return _FloorRun(self.workdir / f"{run_name}.jsonl")


# --------------------------------------------------------------------------- nbtrack


class _NbtrackRun(RunHandle):
    def __init__(self, run: Any) -> None:
        self.run = run
        self.log = run.log  # type: ignore[method-assign]

    def finish(self) -> None:
        self.run.finish(quiet=True)

    def verify(self, expected_rows: int) -> dict[str, Any]:
        from nbtrack.txlog import read_records

        rows = 0
        last_step = -1
        for rec in read_records(self.run.log_path):
            if rec.WhichOneof("record_type") == "history":
                rows += len(rec.history.rows)
                last_step = max(last_step, rec.history.last_step)
        out: dict[str, Any] = {"state": self.run.state, "txlog_rows": rows,
                               "txlog_last_step": last_step, "expected_rows": expected_rows}
        if self.run.mode == "local":
            try:
                import nbtrack

                data = nbtrack.Api().run(self.run.path).data
                out["server_rows"] = data.get("history_line_count")
                out["server_last_step"] = data.get("last_step")
                out["server_state"] = data.get("state")
            except Exception as exc:
                out["server_error"] = repr(exc)
        out["ok"] = (rows == expected_rows and out.get("server_rows", rows) == expected_rows
                     and self.run.state == "finished")
        return out


class Nbtrack(Tracker):
    name = "nbtrack"

    def __init__(self, workdir: Path, mode: str = "local") -> None:
        super().__init__(workdir)
        import nbtrack

        self.nbtrack = nbtrack
        self.mode = mode

    def start(self, run_name: str) -> RunHandle:
        run = self.nbtrack.init(project="bench", name=run_name, mode=self.mode, reinit=False)
        return _NbtrackRun(run)


# --------------------------------------------------------------------------- wandb


class _WandbRun(RunHandle):
    def __init__(self, run: Any) -> None:
        self.run = run
        self.log = run.log  # type: ignore[method-assign]

    def finish(self) -> None:
        self.run.finish()


class Wandb(Tracker):
    name = "wandb"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_MODE", "offline")
        os.environ.setdefault("WANDB_DIR", str(workdir))
        os.environ.setdefault("WANDB_CONSOLE", "off")
        import wandb

        self.wandb = wandb

    def start(self, run_name: str) -> RunHandle:
        wandb = self.wandb
        settings = wandb.Settings(console="off", x_disable_stats=True, silent=True,
                                  reinit="create_new")
        run = wandb.init(project="bench", name=run_name, mode="offline",
                         dir=str(self.workdir), settings=settings)
        return _WandbRun(run)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.wandb.teardown()


# --------------------------------------------------------------------------- trackio


class _TrackioRun(RunHandle):
    def __init__(self, run: Any) -> None:
        self.run = run
        self.log = run.log  # type: ignore[method-assign]

    def finish(self) -> None:
        self.run.finish()


class Trackio(Tracker):
    name = "trackio"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        os.environ["TRACKIO_DIR"] = str(workdir / "trackio")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        import trackio

        self.trackio = trackio

    def start(self, run_name: str) -> RunHandle:
        run = self.trackio.init(project="bench", name=run_name, auto_log_cpu=False,
                                auto_log_gpu=False, embed=False)
        return _TrackioRun(run)


# --------------------------------------------------------------------------- mlflow


class _MlflowRun(RunHandle):
    def __init__(self, mlflow: Any, client: Any, run_id: str) -> None:
        self.mlflow = mlflow
        self.client = client
        self.run_id = run_id
        log_batch = client.log_batch
        metric = mlflow.entities.Metric
        steps = itertools.count()  # next() is atomic under the GIL: threads get unique steps
        clock = time.time

        def log(data: dict[str, Any]) -> None:
            # What mlflow.log_metrics(d, step=i, synchronous=False) does, minus the get_run
            # round trip to SQLite that it makes on every call when given a run_id.
            step = next(steps)
            ts = int(clock() * 1000)
            log_batch(run_id, metrics=[metric(k, v, ts, step) for k, v in data.items()],
                      synchronous=False)

        self.log = log  # type: ignore[method-assign]

    def finish(self) -> None:
        self.mlflow.flush_async_logging()
        self.client.set_terminated(self.run_id)


class Mlflow(Tracker):
    name = "mlflow"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        os.environ.setdefault("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
        os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "true")
        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
        mlflow.config.enable_async_logging(True)
        self.client: Any = None
        self.experiment_id: str | None = None

    def start(self, run_name: str) -> RunHandle:
        if self.client is None:
            self.client = self.mlflow.MlflowClient()
            self.experiment_id = self.mlflow.set_experiment("bench").experiment_id
        run = self.client.create_run(self.experiment_id, run_name=run_name)
        return _MlflowRun(self.mlflow, self.client, run.info.run_id)


# --------------------------------------------------------------------------- tensorboardX


class _TbxRun(RunHandle):
    def __init__(self, writer: Any) -> None:
        self.writer = writer
        add_scalar = writer.add_scalar
        steps = itertools.count()

        def log(data: dict[str, Any]) -> None:
            step = next(steps)
            for k, v in data.items():
                add_scalar(k, v, step)

        self.log = log  # type: ignore[method-assign]

    def finish(self) -> None:
        self.writer.close()


class Tensorboardx(Tracker):
    name = "tensorboardx"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        from tensorboardX import SummaryWriter

        self.SummaryWriter = SummaryWriter

    def start(self, run_name: str) -> RunHandle:
        return _TbxRun(self.SummaryWriter(logdir=str(self.workdir / "tb" / run_name)))


def make(tool: str, workdir: Path) -> Tracker:
    classes: dict[str, type[Tracker]] = {
        "floor": Floor, "nbtrack": Nbtrack, "wandb": Wandb, "trackio": Trackio,
        "mlflow": Mlflow, "tensorboardx": Tensorboardx,
    }
    return classes[tool](workdir)

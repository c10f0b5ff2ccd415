"""Log the same inputs with the official ``wandb`` client or with nbtrack (a subprocess script).

``python behaviour.py wandb|nbtrack BASE_URL API_KEY PROJECT PREFIX`` runs one short run per
case (ids ``PREFIX-<case>``) and prints one JSON line per case: ``{"case", "id", "calls",
"refused"}`` (calls made, calls that raised). What the server stored is read back by the test.
Runs with ``wandb`` from its own venv, so it imports nothing from the tests.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from typing import Any

CLIENT, BASE, KEY, PROJECT, PREFIX = sys.argv[1:6]

if CLIENT == "wandb":
    import wandb as lib

    def start(run_id: str, config: dict[str, Any] | None = None) -> Any:
        return lib.init(project=PROJECT, id=run_id, config=config, reinit="finish_previous")
else:
    import nbtrack as lib

    def start(run_id: str, config: dict[str, Any] | None = None) -> Any:
        return lib.init(project=PROJECT, id=run_id, config=config, mode="online",
                        base_url=BASE, api_key=KEY)


SETUP_REFUSED: list[str] = []


def define(run: Any, name: str, **kwargs: Any) -> None:
    """define_metric, noting the calls a client refuses (wandb has no ``goal``/``best``)."""
    try:
        run.define_metric(name, **kwargs)
    except Exception as e:
        SETUP_REFUSED.append(f"define_metric({name!r}, {kwargs}): {type(e).__name__}")


def steps(run: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Implicit steps, an explicit jump, a step going back, commit=False merging."""
    return [
        ({"a": 1}, {}),
        ({"a": 2}, {"step": 5}),
        ({"a": 3}, {"step": 3}),  # lower than the current step
        ({"b": 1}, {"commit": False}),
        ({"a": 4}, {}),  # merges with b, then commits
        ({"c": 1}, {"step": 10, "commit": False}),
        ({"d": 2}, {"step": 10}),
        ({"a": 6}, {}),
        ({"a": 7}, {"step": 11}),  # same step as the pending row after a commit
    ]


def epochs(run: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The per-epoch pattern: train and val metrics in separate calls with the same step."""
    return [
        ({"train": 1.0}, {"step": 0}),
        ({"val": 2.0}, {"step": 0}),
        ({"train": 3.0}, {"step": 1}),
        ({"val": 4.0}, {"step": 1}),
    ]


def summary(run: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    define(run, "loss", summary="min")
    define(run, "acc", summary="max,last")
    define(run, "m", summary="mean")
    define(run, "val/*", summary="max")
    define(run, "first", summary="first")
    define(run, "hidden", summary="none")
    define(run, "err", summary="best", goal="minimize")
    values = [3.0, 1.0, 2.0]
    return [({"loss": v, "acc": -v, "m": v, "val/x": v, "first": v, "hidden": v, "err": v,
              "plain": v}, {}) for v in values]


def nan(run: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    define(run, "y", summary="min,max,mean")
    return [
        ({"x": math.nan, "y": 1.0}, {}),
        ({"x": math.inf, "y": math.nan}, {}),
        ({"x": -math.inf, "y": 3.0}, {}),
        ({"x": 1.0, "y": math.inf}, {}),
        ({"z": math.nan}, {}),
    ]


def keys(run: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        ({"a": {"b": 1, "c": {"d": 2}}, "train/loss": 1.5, "x.y": 3}, {}),
        ({"s": "text", "n": None, "l": [1, 2, 3], "t": True}, {}),
        ({"_private": 1, "ok": 1}, {}),
        ({"": 1, "ok": 2}, {}),
        ({"big": 2**60, "neg": -0.0}, {}),
    ]


CASES = {"steps": steps, "epochs": epochs, "summary": summary, "nan": nan, "keys": keys}
CONFIG = {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}, "none": None}

for case, fn in CASES.items():
    run = start(f"{PREFIX}-{case}", CONFIG if case == "keys" else None)
    refused: list[int] = []
    run_steps: list[int] = []  # run.step after each call: "the step of the next log()"
    SETUP_REFUSED.clear()
    calls = fn(run)
    for i, (data, kwargs) in enumerate(calls):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run.log(data, **kwargs)
        except Exception as e:
            refused.append(i)
            print(f"# {case} call {i} refused: {type(e).__name__}: {e}", file=sys.stderr)
        run_steps.append(run.step)
    if case == "keys":
        run.config.update({"later": {"deep": 1}})
        run.summary["manual"] = 42
    run.finish()
    print(json.dumps({"case": case, "id": run.id, "calls": len(calls), "refused": refused,
                      "run_steps": run_steps, "setup_refused": SETUP_REFUSED}),
          flush=True)

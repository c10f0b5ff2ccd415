"""Same inputs, both clients, one server: what the official client and nbtrack store.

``scripts/behaviour.py`` logs each case with ``wandb`` (its venv) and with nbtrack (this
interpreter) to the same nbtrack server; the stored rows, summaries and configs are read
back and compared. Every difference asserted here is documented, with these figures, in
``docs/compatibility.md`` ("Behaviour differences"); a failure means one side changed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import Any

import pytest

import nbtrack

from .conftest import SCRIPTS, WandbClient
from helpers.server import RunningServer

CASES = ("steps", "epochs", "summary", "nan", "keys")
META = ("_runtime", "_timestamp", "_wandb")


def _strip(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in META}


def _same(a: Any, b: Any) -> bool:
    """JSON equality where NaN equals NaN and 3 equals 3.0."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _stored(server: RunningServer, entity: str, prefix: str) -> dict[str, dict[str, Any]]:
    api = nbtrack.Api(server.url, server.token)
    out = {}
    for case in CASES:
        run = api.run(f"{entity}/behaviour/{prefix}-{case}")
        out[case] = {"rows": [_strip(r) for r in run.history()],
                     "summary": _strip(run.summary), "config": run.config}
    return out


def _sent(stdout: str) -> dict[str, dict[str, Any]]:
    return {d["case"]: d for d in map(json.loads, (ln for ln in stdout.splitlines()
                                                   if ln.startswith("{")))}


@pytest.fixture(scope="module")
def both(wandb_venv: Any, wandb_server: RunningServer,
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("behaviour")
    client = WandbClient(wandb_venv, wandb_server, home)
    args = [wandb_server.url, wandb_server.token, "behaviour"]
    wb = client.script("behaviour.py", "wandb", *args, "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "WANDB_"))}
    env["NBTRACK_DIR"] = str(home / "nbtrack")
    nb = subprocess.run([sys.executable, str(SCRIPTS / "behaviour.py"), "nbtrack", *args, "nb"],
                        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert nb.returncode == 0, nb.stdout + nb.stderr
    entity = nbtrack.Api(wandb_server.url, wandb_server.token).viewer()["entity"]
    result = {
        "wandb": {"sent": _sent(wb.stdout), "stored": _stored(wandb_server, entity, "wb")},
        "nbtrack": {"sent": _sent(nb.stdout), "stored": _stored(wandb_server, entity, "nb")},
        "wandb_version": wandb_venv.version,
    }
    report = tmp_path_factory.getbasetemp() / "behaviour.json"
    report.write_text(json.dumps(result, indent=1, default=str))
    return result


def _rows(both: dict[str, Any], client: str, case: str) -> list[dict[str, Any]]:
    return list(both[client]["stored"][case]["rows"])


def _summary(both: dict[str, Any], client: str, case: str) -> dict[str, Any]:
    return dict(both[client]["stored"][case]["summary"])


def test_explicit_steps(both: dict[str, Any]) -> None:
    """9 calls: both keep a row open at an explicit step (nbtrack follows W&B's rule)."""
    wb, nb = _rows(both, "wandb", "steps"), _rows(both, "nbtrack", "steps")
    assert [r["_step"] for r in wb] == [0, 5, 10, 11]
    assert wb[1] == {"_step": 5, "a": 4, "b": 1}, "wandb: a=2 at step 5 overwritten by a=4"
    assert wb[3] == {"_step": 11, "a": 7}, "wandb: log(step=11) after the implicit step 11"
    assert nb == wb
    assert both["nbtrack"]["sent"]["steps"]["refused"] == []  # a warning, not an exception


def test_run_step_is_the_step_of_the_next_log(both: dict[str, Any]) -> None:
    """``run.step`` after each call of every case: the same numbers as the official client."""
    for case in CASES:
        wb, nb = both["wandb"]["sent"][case], both["nbtrack"]["sent"][case]
        assert len(wb["run_steps"]) == wb["calls"]
        if nb["refused"] == wb["refused"]:
            assert nb["run_steps"] == wb["run_steps"], case
        else:  # "keys": nbtrack refuses whole calls wandb takes (test_keys_and_values)
            accepted = [i not in nb["refused"] for i in range(nb["calls"])]
            assert nb["run_steps"] == [sum(accepted[:i + 1]) for i in range(nb["calls"])]
    assert both["wandb"]["sent"]["steps"]["run_steps"][:2] == [1, 5]  # implicit, then step=5


def test_same_step_in_separate_calls(both: dict[str, Any]) -> None:
    """train and val logged with step=epoch in two calls: 4 calls, 2 epochs, one row each."""
    wb, nb = _rows(both, "wandb", "epochs"), _rows(both, "nbtrack", "epochs")
    assert wb == [{"_step": 0, "train": 1, "val": 2}, {"_step": 1, "train": 3, "val": 4}]
    assert nb == wb


def test_summary_aggregates(both: dict[str, Any]) -> None:
    wb, nb = _summary(both, "wandb", "summary"), _summary(both, "nbtrack", "summary")
    assert _rows(both, "wandb", "summary") == _rows(both, "nbtrack", "summary")
    for key in ("loss", "acc", "m", "val/x", "first", "plain", "_step"):
        assert _same(wb[key], nb[key]), (key, wb[key], nb[key])
    assert "hidden" not in wb and "hidden" not in nb  # summary="none"
    assert wb["err"] == 2 and nb["err"] == {"best": 1}
    assert any("goal" in s for s in both["wandb"]["sent"]["summary"]["setup_refused"])


def test_nan_and_inf(both: dict[str, Any]) -> None:
    wb, nb = _rows(both, "wandb", "nan"), _rows(both, "nbtrack", "nan")
    assert len(wb) == len(nb) == 5 and _same(wb, nb), "rows store NaN / ±Infinity the same"
    ws, ns = _summary(both, "wandb", "nan"), _summary(both, "nbtrack", "nan")
    assert _same(ws["x"], ns["x"]) and _same(ws["z"], ns["z"])
    assert all(math.isnan(ws["y"][k]) for k in ("min", "max", "mean")), "wandb: NaN poisons"
    assert ns["y"] == {"min": 1.0, "max": math.inf, "mean": math.inf}, "nbtrack ignores NaN"


def test_keys_and_values(both: dict[str, Any]) -> None:
    wb, nb = _rows(both, "wandb", "keys"), _rows(both, "nbtrack", "keys")
    assert len(wb) == 5 and len(nb) == 3
    assert both["nbtrack"]["sent"]["keys"]["refused"] == [2, 3]
    assert wb[0]["a"] == {"b": 1, "c": {"d": 2}}, "wandb stores nested dicts nested"
    assert nb[0]["a/b"] == 1 and nb[0]["a/c/d"] == 2 and "a" not in nb[0], "nbtrack flattens"
    assert wb[0]["x.y"] == nb[0]["x.y"] == 3 and wb[0]["train/loss"] == nb[0]["train/loss"]
    assert _same(_strip(wb[1]) | {"_step": 0}, _strip(nb[1]) | {"_step": 0})  # str/None/list/bool
    assert wb[2] == {"_step": 2, "_private": 1, "ok": 1}, "wandb keeps _-keys"
    assert wb[3] == {"_step": 3, "ok": 2}, "wandb drops the empty key, keeps the rest"
    ws, ns = _summary(both, "wandb", "keys"), _summary(both, "nbtrack", "keys")
    assert ws["manual"] == ns["manual"] == 42
    assert both["wandb"]["stored"]["keys"]["config"] == both["nbtrack"]["stored"]["keys"]["config"]

"""Acceptance: init → 10,000 log calls → finish, read back exactly over real HTTP."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import nbtrack
from nbtrack.txlog import read_records

N = 10_000


def _row(i: int) -> dict:
    return {
        "loss": 1.0 / (i + 1),
        "acc": i / N,
        "ints": i,
        "np_f32": np.float32(i) / 4,
        "np_i64": np.int64(i * 3),
        "maybe_nan": float("nan") if i % 1000 == 7 else float(i),
        "maybe_inf": math.inf if i % 2500 == 3 else (-math.inf if i % 2500 == 4 else 0.5),
        "flag": i % 2 == 0,
        "nested": {"a": i % 7, "b": -i},
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_ten_thousand_rows_arrive_exactly(local_home: Path) -> None:
    run = nbtrack.init(project="e2e", name="roundtrip", config={"lr": 0.01, "layers": [64, 32],
                                                                 "opt": {"name": "adam"}})
    run.define_metric("loss", summary="min,max,mean,last")
    run.define_metric("acc", summary="max,best", goal="maximize")
    for i in range(N):
        run.log(_row(i))
    run.config["extra"] = "late"
    run.finish(quiet=True)
    assert run.state == "finished"

    api_run = nbtrack.Api().run(run.path)
    assert api_run.state == "finished"
    assert api_run.config["lr"] == 0.01
    assert api_run.config["layers"] == [64, 32]
    assert api_run.config["opt"] == {"name": "adam"}
    assert api_run.config["extra"] == "late"

    rows = api_run.history()
    assert len(rows) == N
    assert [r["_step"] for r in rows] == list(range(N))
    for i in (0, 7, 3, 4, 2503, 2504, 5000, N - 1):
        expected = _row(i)
        got = rows[i]
        for key in ("loss", "acc", "ints", "maybe_nan", "maybe_inf", "flag"):
            assert _same(expected[key], got[key]), (i, key, expected[key], got[key])
        assert got["np_f32"] == float(np.float32(i) / 4)
        assert got["np_i64"] == i * 3
        assert got["nested/a"] == i % 7 and got["nested/b"] == -i
        assert "_runtime" in got and "_timestamp" in got

    summary = api_run.summary
    assert summary["loss"]["min"] == 1.0 / N
    assert summary["loss"]["max"] == 1.0
    assert summary["loss"]["last"] == 1.0 / N
    assert math.isclose(summary["loss"]["mean"], sum(1.0 / (i + 1) for i in range(N)) / N)
    assert summary["acc"]["max"] == (N - 1) / N
    assert summary["acc"]["best"] == (N - 1) / N
    assert summary["ints"] == N - 1

    history_records = [r for r in read_records(run.log_path) if r.HasField("history")]
    assert sum(len(r.history.rows) for r in history_records) == N


def test_bad_value_names_the_key_and_loses_nothing(local_home: Path) -> None:
    run = nbtrack.init(project="e2e", name="bad-input")
    run.log({"x": 1.0})
    try:
        run.log({"y": 2.0, "bad": object()})
    except TypeError as exc:
        assert "'bad'" in str(exc)
    else:
        raise AssertionError("an unloggable value must raise")
    run.log({"x": 3.0})
    run.finish(quiet=True)
    rows = nbtrack.Api().run(run.path).history()
    assert [(r["_step"], r.get("x"), r.get("y")) for r in rows] == [(0, 1.0, None), (1, 3.0, None)]


def test_explicit_steps_merge_like_wandb_and_lower_steps_are_refused(local_home: Path) -> None:
    import warnings

    run = nbtrack.init(project="e2e", name="steps")
    run.log({"train": 1.0}, step=5)
    run.log({"val": 2.0}, step=5)
    run.log({"a": 2}, step=3)
    run.flush()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.log({"a": 3}, step=6)
    assert any("step 3" in str(w.message) for w in caught), [str(w.message) for w in caught]
    run.log({"b": 4})
    run.finish(quiet=True)
    rows = nbtrack.Api().run(run.path).history()
    assert [(r["_step"], r.get("train"), r.get("val"), r.get("a"), r.get("b")) for r in rows] == [
        (5, 1.0, 2.0, None, None), (6, None, None, 3, 4)]


def test_disabled_mode_has_the_same_api_and_touches_nothing(local_home: Path) -> None:
    run = nbtrack.init(mode="disabled", config={"a": 1})
    run.log({"x": 1.0})
    run.define_metric("x", summary="min")
    run.config["b"] = 2
    run.finish(quiet=True)
    assert run.state == "finished"
    assert not (local_home / "runs").exists()

"""Summary: last values, define_metric aggregates, user overrides."""

from __future__ import annotations

import json
import math

from nbtrack.pipeline.handler.summary import Summary

NAN = float("nan")


def batch(s: Summary, *rows: dict) -> None:
    s.update_batch(list(rows))


def test_last_value_by_default() -> None:
    s = Summary()
    batch(s, {"loss": 1.0, "tag": "a"}, {"loss": 0.5}, {"acc": 0.9})
    assert s.full() == {"loss": 0.5, "tag": "a", "acc": 0.9}
    batch(s, {"loss": NAN})
    assert math.isnan(s.full()["loss"])
    assert "NaN" in s.to_json()


def test_aggregates_with_goal_and_nan_ignored() -> None:
    s = Summary()
    assert (
        s.define_metric("loss", ["min", "max", "mean", "first", "last", "best"], "minimize") == []
    )
    batch(s, {"loss": 3.0}, {"loss": NAN}, {"loss": 1.0})
    batch(s, {"loss": 2.0})
    assert s.full()["loss"] == {
        "min": 1.0,
        "max": 3.0,
        "mean": 2.0,
        "first": 3.0,
        "last": 2.0,
        "best": 1.0,
    }
    s.define_metric("acc", ["best", "max"], "maximize")
    batch(s, {"acc": 0.1}, {"acc": 0.7}, {"acc": 0.4})
    assert s.full()["acc"] == {"max": 0.7, "best": 0.7}


def test_only_requested_aggregates_and_problems() -> None:
    s = Summary()
    problems = s.define_metric("x", ["min", "best", "median"])
    assert any("best" in p for p in problems) and any("median" in p for p in problems)
    batch(s, {"x": 2}, {"x": 1})
    assert s.full() == {"x": {"min": 1}}
    s.define_metric("hidden_one", ["none"])
    batch(s, {"hidden_one": 5})
    assert "hidden_one" not in s.full()


def test_bools_and_strings_not_aggregated_numerically() -> None:
    s = Summary()
    s.define_metric("v", ["min", "first", "last"])
    batch(s, {"v": "warmup"}, {"v": True}, {"v": 4.0}, {"v": 2.0})
    assert s.full()["v"] == {"min": 2.0, "first": "warmup", "last": 2.0}


def test_user_override_until_logged_again() -> None:
    s = Summary()
    batch(s, {"loss": 1.0, "acc": 0.5})
    s.update_user({"loss": 0.0, "note": "best run"}, remove=["acc"])
    assert s.full() == {"loss": 0.0, "note": "best run"}
    batch(s, {"acc": 0.6})
    assert s.full() == {"loss": 0.0, "note": "best run", "acc": 0.6}
    batch(s, {"loss": 2.0})
    assert s.full()["loss"] == 2.0
    assert s.full()["note"] == "best run"


def test_override_of_aggregated_key() -> None:
    s = Summary()
    s.define_metric("loss", ["min"])
    batch(s, {"loss": 1.0})
    s.update_user({"loss": 42})
    assert s.full()["loss"] == 42
    batch(s, {"loss": 0.5})
    assert s.full()["loss"] == {"min": 0.5}


def test_glob_define_metric() -> None:
    s = Summary()
    s.define_metric("val/*", ["max"])
    s.define_metric("val/loss", ["min"])
    s.define_metric("*", ["last"])
    batch(s, {"val/acc": 0.2, "val/loss": 3.0, "train/loss": 1.0, "_step": 0})
    batch(s, {"val/acc": 0.1, "val/loss": 2.0, "train/loss": 0.5, "_step": 1})
    full = s.full()
    assert full["val/acc"] == {"max": 0.2}  # prefix glob
    assert full["val/loss"] == {"min": 2.0}  # exact beats glob
    assert full["train/loss"] == {"last": 0.5}  # catch-all glob
    assert full["_step"] == 1  # globs never match private keys


def test_defined_after_logging_starts_from_last_value() -> None:
    s = Summary()
    batch(s, {"loss": 5.0}, {"loss": 4.0})
    s.define_metric("loss", ["min", "max", "first"])
    batch(s, {"loss": 6.0})
    assert s.full()["loss"] == {"min": 4.0, "max": 6.0, "first": 4.0}


def test_changed_flag_and_json() -> None:
    s = Summary()
    assert not s.changed
    batch(s, {"a": float("inf")})
    assert s.changed
    assert json.loads(s.to_json()) == {"a": float("inf")}
    s.changed = False
    s.update_user({"b": 1})
    assert s.changed


def test_sparse_keys_take_their_own_last_value() -> None:
    s = Summary()
    batch(s, {"a": 1, "b": 1}, {"a": 2, "b": 2}, {"a": 3})
    assert s.full() == {"a": 3, "b": 2}


def test_a_step_metric_leaves_the_summary_alone() -> None:
    s = Summary()
    assert s.define_metric("val/*", step_metric="epoch") == []
    batch(s, {"val/x": 1.0})
    assert s.full() == {"val/x": 1.0}


def test_define_metric_again_merges_like_wandb() -> None:
    """Aggregates add up, a later goal replaces, "none" leaves the key out (W&B's rule)."""
    s = Summary()
    s.define_metric("loss", ["min"])
    s.define_metric("loss", ["max"])
    s.define_metric("loss", [], "minimize")  # no summary given: the aggregates stay
    batch(s, {"loss": 2.0}, {"loss": 1.0}, {"loss": 3.0})
    assert s.full()["loss"] == {"min": 1.0, "max": 3.0}
    s.define_metric("loss", ["none"])
    assert "loss" not in s.full()

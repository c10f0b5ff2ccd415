"""define_metric as W&B carries it: the merge rule and the ``_wandb.m`` encoding."""

from __future__ import annotations

from nbtrack.wire.metrics import MetricDef, decode, encode, merge


def _defs(*calls: tuple[str, dict[str, object]]) -> list[MetricDef]:
    out: dict[str, MetricDef] = {}
    for name, kw in calls:
        out[name] = merge(out.get(name), name, **kw)  # type: ignore[arg-type]
    return list(out.values())


def test_encoding_and_decoding_round_trip() -> None:
    defs = _defs(("epoch", {"hidden": True}), ("loss", {"summary": ["min"]}),
                 ("acc", {"summary": ["max", "last"]}), ("m", {"summary": ["first", "none"]}),
                 ("val/*", {"step_metric": "epoch", "summary": ["mean"]}),
                 ("err", {"summary": ["best"], "goal": "minimize"}))
    m = encode(defs)
    # field numbers of W&B's MetricRecord: 1 name, 2 glob_name, 5 step_metric_index,
    # 6 options (1 step_sync, 2 hidden, 3 defined), 7 summary (1 min ... 8 first), 8 goal
    assert m[0] == {"1": "epoch", "6": [2, 3], "7": []}
    assert m[1] == {"1": "loss", "6": [3], "7": [1]}
    assert m[2] == {"1": "acc", "6": [3], "7": [2, 5]}
    assert m[3] == {"1": "m", "6": [3], "7": [6, 8]}
    assert m[4] == {"1": "err", "6": [3], "7": [4], "8": 1}
    assert m[5] == {"2": "val/*", "6": [1], "7": [3], "5": 1}  # globs last
    back = decode(m)
    assert back["val/*"] == {"step_metric": "epoch", "summary": ["mean"], "goal": "",
                             "hidden": False, "step_sync": True}
    assert back["m"]["summary"] == ["first", "none"] and back["epoch"]["hidden"]
    assert decode("not a list") == {} and decode([{"6": []}, 3]) == {}


def test_merge_adds_aggregates_and_replaces_choices() -> None:
    d = merge(None, "loss", summary=["min"], step_metric="epoch")
    d = merge(d, "loss", summary=["max"], goal="maximize")
    d = merge(d, "loss", step_metric="batch", hidden=True)
    assert (d.summary, d.step_metric, d.goal, d.hidden, d.step_sync, d.defined) == (
        frozenset({"min", "max"}), "batch", "maximize", True, True, True)
    assert merge(d, "loss", summary=["none"]).none
    assert not merge(None, "val/*").defined

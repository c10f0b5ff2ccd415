"""ConfigDebouncer: many config changes, one upsert; the clock is passed in."""

from __future__ import annotations

import json

from nbtrack.pipeline.sender.configdebounce import ConfigDebouncer
from nbtrack.proto import nbtrack_pb2 as pb


def test_changes_wait_for_the_delay_then_go_as_one() -> None:
    d = ConfigDebouncer(1.0)
    d.run_config('{"a": 1}')
    assert d.due_in(0.0) is None and not d.pending
    d.config('{"a": 1, "b": 1}', now=10.0)
    d.config('{"a": 1, "b": 2}', now=10.5)  # does not restart the wait
    d.metric(pb.MetricRecord(name="loss", summary=["min"], goal="minimize"), now=10.7)
    assert d.due_in(10.25) == 0.75 and d.due_in(11.5) == 0.0
    sent = d.take()
    assert sent is not None and not d.pending
    out = json.loads(sent)
    block = out.pop("_wandb")["value"]
    assert out == {"a": {"value": 1}, "b": {"value": 2}}
    # W&B's encoding: {"1": name, "6": options (3 = defined), "7": summary (1 = min), "8": goal}
    assert block["m"] == [{"1": "loss", "6": [3], "7": [1], "8": 1}]
    assert block["cli_version"] and block["t"]["5"] == block["cli_version"]
    # define_metric again: merged by W&B's rule (aggregates add up), one definition
    d.metric(pb.MetricRecord(name="loss", summary=["max"], step_metric="epoch"), now=12.0)
    m = json.loads(d.take() or "")["_wandb"]["value"]["m"]
    # the step metric by its one-based index; never defined itself, it has no options
    assert m == [{"1": "loss", "6": [1, 3], "7": [1, 2], "8": 1, "5": 2},
                 {"1": "epoch", "6": [], "7": []}]


def test_the_run_config_is_the_base_and_bad_json_is_not_sent() -> None:
    d = ConfigDebouncer(0.0)
    d.run_config('{"lr": 0.1}')
    d.run_config('{"lr": 0.9}')  # the first one given wins
    d.metric(pb.MetricRecord(name="acc"), now=0.0)
    sent = d.take()
    assert sent is not None and json.loads(sent)["lr"] == {"value": 0.1}
    d.config("{not json", now=1.0)
    assert d.take() is None and not d.pending

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
    assert json.loads(sent) == {
        "a": {"value": 1}, "b": {"value": 2},
        "_wandb": {"value": {"m": [{"name": "loss", "summary": ["min"], "goal": "minimize"}]}}}


def test_the_run_config_is_the_base_and_bad_json_is_not_sent() -> None:
    d = ConfigDebouncer(0.0)
    d.run_config('{"lr": 0.1}')
    d.run_config('{"lr": 0.9}')  # the first one given wins
    d.metric(pb.MetricRecord(name="acc"), now=0.0)
    sent = d.take()
    assert sent is not None and json.loads(sent)["lr"] == {"value": 0.1}
    d.config("{not json", now=1.0)
    assert d.take() is None and not d.pending

"""RunControl: the run's GraphQL calls in order — register, config, alerts, stop polling,
finish and crash marking — with a real poster against the fake W&B server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from nbtrack.pipeline.sender.filestream_wire import RunIdentity
from nbtrack.pipeline.sender.poster import FileStreamPoster
from nbtrack.pipeline.sender.registrar import RunRegistrar
from nbtrack.pipeline.sender.runcontrol import (
    FinishRun,
    RegisterRun,
    RunControl,
    SendAlert,
    UpdateConfig,
)
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.wire.files import HISTORY

from helpers.fakewandb import FakeWandb, make_transport
from helpers.wait import never_within, wait_until


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


class Control:
    """Run control with its poster; ``known`` records what the file pusher would be told."""

    def __init__(self, url: str, *, replay: bool = False, **kw: Any) -> None:
        self.t = make_transport(url)
        self.poster = FileStreamPoster(self.t, post_interval=0.05)
        self.known: list[RunIdentity | None] = []
        self.stop = threading.Event()
        self.c = RunControl(self.t, RunRegistrar(self.t, replay=replay), self.poster,
                            on_run_known=self.known.append, stop_requested=self.stop, **kw)
        self.poster.start()
        self.c.start()

    def register(self, run: pb.RunRecord) -> pb.RunResult:
        got: list[pb.RunResult] = []
        answered = threading.Event()

        def respond(rr: pb.RunResult) -> None:
            got.append(rr)
            answered.set()

        self.c.submit(RegisterRun(run, [], respond))
        assert answered.wait(5)
        return got[0]

    def finish(self, exit_code: int | None = 0, complete: bool = True) -> None:
        done = threading.Event()
        self.c.submit(FinishRun(exit_code, complete, done.set))
        assert done.wait(10)

    def close(self) -> None:
        self.c.end()  # ends the poster after its last job
        assert self.c.join(5) and self.poster.join(5)
        self.t.close()


def test_registering_opens_the_poster_and_names_the_run(fake: FakeWandb) -> None:
    w = Control(fake.url)
    w.poster.add_history(['{"_step": 0}'], 12, 0)  # waits until the run exists
    rr = w.register(pb.RunRecord(run_id="r1", project="p"))
    assert rr.error.code == pb.ErrorInfo.NONE and rr.run.entity == "me"
    assert w.known == [RunIdentity("me", "p", "r1")]
    assert wait_until(lambda: fake.lines("me", "p", "r1", HISTORY) == ['{"_step": 0}'])
    w.finish(0)
    assert fake.run("me", "p", "r1")["state"] == "finished" and w.poster.final_acked
    w.close()


def test_a_run_that_cannot_be_created_fails_its_lines_and_files(fake: FakeWandb) -> None:
    w = Control(fake.url)
    fake.inject("graphql", 403)
    w.poster.add_history(['{"_step": 0}'], 12, 0)
    rr = w.register(pb.RunRecord(run_id="bad", project="p", entity="me"))
    assert rr.error.code == pb.ErrorInfo.AUTHENTICATION
    assert w.known == [None] and w.c.failed
    w.c.submit(UpdateConfig('{"a": {"value": 1}}'))  # nothing to update: skipped
    w.finish(0)  # still answered
    assert w.poster.dropped_lines == 1 and fake.posts == []
    assert fake.ops("UpsertBucket") == []
    w.close()


def test_finish_without_a_run_fails_the_files(fake: FakeWandb) -> None:
    w = Control(fake.url)
    w.finish(0)
    assert w.known == [None]
    w.close()


def test_config_and_alerts_follow_the_run(fake: FakeWandb) -> None:
    w = Control(fake.url)
    w.register(pb.RunRecord(run_id="r2", project="p", entity="me"))
    w.c.submit(UpdateConfig(json.dumps({"lr": {"value": 0.5}})))
    w.c.submit(SendAlert(pb.AlertRecord(title="loss", text="too high", level="WARN")))
    w.finish(0)  # after the jobs before it
    assert fake.run("me", "p", "r2")["config"] == {"lr": {"value": 0.5}}
    assert fake.ops("UpsertBucket")[-1].get("state") is None  # a config-only update
    assert fake.alerts == [{"entityName": "me", "projectName": "p", "runName": "r2",
                            "title": "loss", "text": "too high", "severity": "WARN"}]
    w.close()


@pytest.mark.parametrize(("status", "says"), [(400, "not stored"), (422, "not stored"),
                                              (403, "API key")])
def test_a_refused_config_update_is_counted_not_silent(fake: FakeWandb, status: int,
                                                       says: str) -> None:
    w = Control(fake.url, stop_poll_interval=0)  # no stop polls to take the fault
    w.register(pb.RunRecord(run_id=f"c{status}", project="p", entity="me"))
    fake.inject("graphql", status)
    w.c.submit(UpdateConfig(json.dumps({"lr": {"value": 0.5}})))
    w.finish(0)
    assert w.c.not_stored == 1 and says in w.c.not_stored_reason
    assert w.c.not_stored_reason.startswith("config update")
    assert w.poster.final_acked  # the run's end is stored; the config waits in the log
    w.close()


def test_stop_requests_are_polled_until_the_server_says_stop(fake: FakeWandb) -> None:
    w = Control(fake.url, stop_poll_interval=0.05)
    w.register(pb.RunRecord(run_id="r3", project="p", entity="me"))
    assert wait_until(lambda: len(fake.ops("RunStoppedStatus")) >= 2)
    assert not w.stop.is_set()
    fake.stop("me", "p", "r3")
    assert w.stop.wait(5)
    polls = len(fake.ops("RunStoppedStatus"))
    assert never_within(lambda: len(fake.ops("RunStoppedStatus")) > polls, 0.3)  # done asking
    w.close()


def test_a_server_without_the_stop_query_is_not_asked_again(fake: FakeWandb) -> None:
    w = Control(fake.url, stop_poll_interval=0.05)
    w.register(pb.RunRecord(run_id="r4", project="p", entity="me"))
    fake.inject("graphql", 400)  # the next stop poll is refused as unknown
    assert wait_until(lambda: not fake.failures["graphql"])
    asked = len(fake.ops("RunStoppedStatus"))
    assert never_within(lambda: len(fake.ops("RunStoppedStatus")) > asked, 0.3)
    w.close()


def test_a_replayed_log_without_an_exit_is_marked_crashed(fake: FakeWandb) -> None:
    w = Control(fake.url, replay=True)
    w.c.submit(RegisterRun(pb.RunRecord(run_id="r5", project="p", entity="me"), [], None))
    w.poster.add_history(['{"_step": 0}', '{"_step": 1}'], 24, 0)
    w.finish(None, complete=False)
    run = fake.run("me", "p", "r5")
    assert run["state"] == "crashed" and not run["complete"]
    assert len(fake.lines("me", "p", "r5", HISTORY)) == 2
    assert w.c.crash_marked and not w.poster.final_acked
    w.close()

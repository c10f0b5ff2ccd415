"""RunRegistrar: creating and resuming the run (resume check + upsertBucket), no thread."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.sender.filestream_wire import encode_post
from nbtrack.pipeline.sender.registrar import RunRegistrar, offsets_of
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.wire.files import HISTORY, OUTPUT, SUMMARY

from helpers.fakewandb import FakeWandb, make_transport


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


@pytest.fixture
def transport(fake: FakeWandb) -> Iterator[WandbClient]:
    t = make_transport(fake.url)
    yield t
    t.close()


def seed(t: WandbClient, run_id: str, n_rows: int) -> None:
    """A run on the server with ``n_rows`` history rows, a summary and one console line."""
    rows = [json.dumps({"_step": s}) for s in range(n_rows)]
    files = {HISTORY: {"offset": 0, "content": rows},
             SUMMARY: {"offset": 0, "content": [json.dumps({"_runtime": 12.5})]},
             OUTPUT: {"offset": 0, "content": ["line"]}}
    t.graphql("mutation UpsertBucket($name: String) { upsertBucket { bucket { id } } }",
              {"name": run_id, "entity": "me", "project": "p", "config": '{"a": {"value": 1}}'})
    t.file_stream("me", "p", run_id, encode_post(files, complete=True, exit_code=1))


def test_a_new_run_gets_entity_url_and_offsets(fake: FakeWandb, transport: WandbClient) -> None:
    reg = RunRegistrar(transport)
    rr = reg.register(pb.RunRecord(run_id="abc", project="p", config_json='{"lr": 0.1}'), [])
    assert rr.error.code == pb.ErrorInfo.NONE
    assert rr.run.entity == "me" and rr.run.display_name == "name-abc"
    assert rr.run.url == f"{fake.url}/me/p/runs/abc"
    assert rr.run.offsets_known and not rr.run.resumed and rr.run.starting_step == 0
    assert offsets_of(rr.run) == {HISTORY: 0, "wandb-events.jsonl": 0, OUTPUT: 0}
    assert [op for op, _ in fake.graphql_ops] == ["Viewer", "RunResumeStatus", "UpsertBucket"]
    config = fake.run("me", "p", "abc")["config"]
    assert config.pop("_wandb")["value"]["m"] == [] and config == {"lr": {"value": 0.1}}
    # the viewer's entity is asked once
    reg.register(pb.RunRecord(run_id="abd", project="p"), [])
    assert len(fake.ops("Viewer")) == 1


def test_a_resumed_run_continues_where_the_server_is(fake: FakeWandb,
                                                      transport: WandbClient) -> None:
    seed(transport, "r2", 7)
    rr = RunRegistrar(transport).register(
        pb.RunRecord(run_id="r2", project="p", entity="me", resume="allow",
                     config_json='{"b": 2}'), [])
    assert rr.error.code == pb.ErrorInfo.NONE
    run = rr.run
    assert run.resumed and run.offsets_known
    assert (run.starting_step, run.history_line_offset, run.output_line_offset) == (7, 7, 1)
    assert run.runtime_offset == 12.5
    assert json.loads(run.config_json) == {"a": 1, "b": 2}  # the server's config, then ours


@pytest.mark.parametrize("resume, rows, code, words", [
    ("must", None, pb.ErrorInfo.NOT_FOUND, "does not exist"),
    ("never", 3, pb.ErrorInfo.CONFLICT, "already exists"),
    ("", 3, pb.ErrorInfo.CONFLICT, "resume='allow'"),
])
def test_resume_choices_are_enforced(fake: FakeWandb, transport: WandbClient, resume: str,
                                     rows: int | None, code: int, words: str) -> None:
    if rows is not None:
        seed(transport, "r3", rows)
    upserts = len(fake.ops("UpsertBucket"))
    rr = RunRegistrar(transport).register(
        pb.RunRecord(run_id="r3", project="p", entity="me", resume=resume), [])
    assert rr.error.code == code and words in rr.error.message and "r3" in rr.error.message
    assert len(fake.ops("UpsertBucket")) == upserts  # refused before anything was written


def test_a_refused_call_becomes_an_error_not_an_exception(fake: FakeWandb,
                                                          transport: WandbClient) -> None:
    fake.inject("graphql", 403)
    rr = RunRegistrar(transport).register(pb.RunRecord(run_id="bad", project="p", entity="me"),
                                          [])
    assert rr.error.code == pb.ErrorInfo.AUTHENTICATION and "403" in rr.error.message
    assert rr.run.run_id == "bad"


def test_replay_skips_the_resume_check(fake: FakeWandb, transport: WandbClient) -> None:
    seed(transport, "r4", 5)  # a log synced after part of it reached the server
    rr = RunRegistrar(transport, replay=True).register(
        pb.RunRecord(run_id="r4", project="p", entity="me"), [{"1": "loss"}])
    assert rr.error.code == pb.ErrorInfo.NONE and not rr.run.offsets_known
    assert fake.ops("RunResumeStatus") == []
    assert json.loads(fake.ops("UpsertBucket")[-1]["config"])["_wandb"]["value"]["m"] == \
        [{"1": "loss"}]

"""The wiring: one config builds every queue, stage and worker; start and close own them all."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtrack.pipeline.config import PipelineConfig
from nbtrack.pipeline.stream import Stream
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import read_records

from helpers.fakewandb import FakeWandb, make_transport

PIPELINE = Path(__file__).resolve().parents[2] / "kernel" / "nbtrack" / "pipeline"
THREADS = {"nbtrack-handler", "nbtrack-writer", "nbtrack-sender", "nbtrack-runcontrol",
           "nbtrack-filestream", "nbtrack-filepusher"}


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


def alive(names: set[str]) -> set[str]:
    return {t.name for t in threading.enumerate() if t.name in names and t.is_alive()}


def test_the_pipeline_reads_no_environment_variable() -> None:
    """Every number comes from PipelineConfig, which the SDK builds from the settings."""
    for path in PIPELINE.rglob("*.py"):
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path


def test_config_is_frozen_and_checked() -> None:
    config = PipelineConfig()
    with pytest.raises(AttributeError):
        config.post_interval = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="max_unsent_bytes"):
        PipelineConfig(max_unsent_bytes=0)


def test_a_run_through_every_stage_and_close_ends_every_thread(fake: FakeWandb,
                                                              tmp_path: Path) -> None:
    t = make_transport(fake.url)
    stream = Stream(PipelineConfig(post_interval=0.05), tmp_path / "run.nbtrack", t)
    stream.start()
    stream.start()  # twice is fine
    assert alive(THREADS) == THREADS
    iface = stream.interface
    answer = iface.deliver_run(pb.RunRecord(run_id="w1", project="p")).wait(5)
    assert answer is not None and answer.run_result.run.entity == "me"
    for i in range(10):
        iface.publish_log({"x": float(i)}, None, True)
    iface.publish_exit(0, 1.0)
    for state in pb.DeferRequest.DeferState.values():
        reply = iface.deliver_defer(state).wait(10)
        assert reply is not None and reply.defer.state == state
    report = stream.close(5.0)
    assert report.clean and report.still_running == [] and report.left == {}
    assert alive(THREADS) == set()
    assert len(fake.lines("me", "p", "w1", "wandb-history.jsonl")) == 10
    assert fake.run("me", "p", "w1")["state"] == "finished"
    kinds = [rec.WhichOneof("record_type") for rec in read_records(tmp_path / "run.nbtrack")]
    assert kinds.count("history") >= 1 and "exit" in kinds
    assert stream.close(1.0).clean  # twice is fine
    t.close()


def test_offline_has_no_network_workers(tmp_path: Path) -> None:
    stream = Stream(PipelineConfig(), tmp_path / "run.nbtrack", None)
    stream.start()
    assert stream.workers is None
    assert alive(THREADS) == {"nbtrack-handler", "nbtrack-writer", "nbtrack-sender"}
    poll = stream.interface.deliver_poll_exit().wait(5)
    assert poll is not None and poll.poll_exit.done
    assert stream.close(5.0).clean and alive(THREADS) == set()


def test_close_with_the_server_stuck_gives_up_and_says_so(fake: FakeWandb,
                                                          tmp_path: Path) -> None:
    t = make_transport(fake.url)
    stream = Stream(PipelineConfig(post_interval=0.05), tmp_path / "run.nbtrack", t)
    stream.start()
    assert stream.interface.deliver_run(pb.RunRecord(run_id="w2", project="p")).wait(5)
    fake.inject("file_stream", 503, times=10_000, retry_after="30")
    stream.interface.publish_log({"x": 1.0}, None, True)
    report = stream.close(1.0)  # the poster retries: close closes the transport, then all end
    assert t.closed and alive(THREADS) == set()
    assert report.clean or set(report.still_running) <= {"filestream", "runcontrol"}


def test_replay_has_no_handler_and_no_writer(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    log = tmp_path / "old.nbtrack"
    stream = Stream(PipelineConfig(post_interval=0.05), log, t, replay=True)
    assert stream.handler is None and stream.writer is None
    stream.start()
    assert "nbtrack-handler" not in alive(THREADS) and not log.exists()
    stream.interface.publish(pb.Record(run=pb.RunRecord(run_id="w3", project="p")))
    stream.interface.publish(pb.Record(num=1, history=pb.HistoryRecord(rows=['{"_step": 0}'])))
    stream.interface.publish(pb.Record(exit=pb.ExitRecord(exit_code=0)))
    assert stream.finish_replay(10.0)
    assert alive(THREADS) == set()
    assert fake.run("me", "p", "w3")["state"] == "finished"
    t.close()

"""FileStream worker: offsets across posts and resumes, retries with the same offsets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nbtrack.client.transport import Transport
from nbtrack.pipeline.sender.filestream import FileStream
from nbtrack.pipeline.sender.filestream_wire import (
    EVENTS,
    HISTORY,
    OUTPUT,
    FlushJob,
    OffsetsJob,
    RunJob,
    StopJob,
    encode_post,
)
from nbtrack.proto import nbtrack_pb2 as pb

from helpers.fakewandb import FakeWandb, make_transport


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


def rows(first: int, n: int) -> list[str]:
    return [json.dumps({"_step": s, "loss": 1.0 / (s + 1)}) for s in range(first, first + n)]


def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


class World:
    def __init__(self, url: str, **kw: Any) -> None:
        self.t: Transport = make_transport(url)
        kw.setdefault("post_interval", 0.05)
        self.fs = FileStream(self.t, **kw)
        self.fs.start()
        self.results: list[pb.RunResult] = []

    def start_run(self, run: pb.RunRecord) -> pb.RunResult:
        done = threading.Event()

        def respond(rr: pb.RunResult) -> None:
            self.results.append(rr)
            done.set()

        self.fs.submit(RunJob(run, respond, []))
        assert done.wait(5)
        return self.results[-1]

    def flush(self, exit_code: int | None = 0) -> None:
        done = threading.Event()
        self.fs.submit(FlushJob(exit_code, done.set))
        assert done.wait(10)

    def close(self) -> None:
        self.fs.submit(StopJob())
        assert self.fs.join(5)
        self.t.close()


def test_offsets_continue_across_posts(fake: FakeWandb) -> None:
    w = World(fake.url)
    rr = w.start_run(pb.RunRecord(run_id="r1", project="p", entity="me"))
    assert not rr.HasField("error")
    assert rr.run.offsets_known and rr.run.starting_step == 0 and not rr.run.resumed
    a = rows(0, 10)
    w.fs.add_history(a, sum(map(len, a)))
    assert wait_until(lambda: w.fs.counters()[2] == 0)
    b = rows(10, 15)
    w.fs.add_history(b, sum(map(len, b)))
    w.fs.add_event('{"cpu": 1}')
    w.fs.add_output("hello", False, 1.7e9)
    w.fs.add_output("oops", True, 1.7e9)
    w.flush(0)
    assert fake.lines("me", "p", "r1", HISTORY) == a + b
    offsets = [p["files"][HISTORY]["offset"] for p in fake.posts if HISTORY in p["files"]]
    assert offsets == [0, 10]
    out = fake.lines("me", "p", "r1", OUTPUT)
    assert out[0].endswith(" hello") and out[1].startswith("ERROR ") and out[1].endswith(" oops")
    assert fake.lines("me", "p", "r1", EVENTS) == ['{"cpu": 1}']
    # complete / exitcode only in the last post
    assert [p.get("complete") for p in fake.posts] == [None] * (len(fake.posts) - 1) + [True]
    assert fake.posts[-1]["exitcode"] == 0
    assert fake.run("me", "p", "r1")["state"] == "finished"
    assert w.fs.ok
    acked, total, pending = w.fs.counters()
    assert acked == total and pending == 0
    w.close()


def test_resumed_run_continues_offsets(fake: FakeWandb) -> None:
    w = World(fake.url)
    w.start_run(pb.RunRecord(run_id="r2", project="p", entity="me"))
    a = rows(0, 7)
    w.fs.add_history(a, sum(map(len, a)))
    w.fs.set_summary(json.dumps({"loss": 0.1, "_runtime": 12.5, "_step": 6}))
    w.fs.add_output("line", False, 1.7e9)
    w.flush(1)
    w.close()
    assert fake.run("me", "p", "r2")["state"] == "failed"

    w2 = World(fake.url)
    rr = w2.start_run(pb.RunRecord(run_id="r2", project="p", entity="me", resume="allow"))
    assert not rr.HasField("error")
    assert rr.run.resumed and rr.run.offsets_known
    assert rr.run.starting_step == 7
    assert rr.run.history_line_offset == 7
    assert rr.run.output_line_offset == 1
    assert rr.run.runtime_offset == 12.5
    b = rows(7, 5)
    w2.fs.add_history(b, sum(map(len, b)))
    w2.fs.add_output("more", False, 1.7e9)
    w2.flush(0)
    w2.close()
    assert fake.lines("me", "p", "r2", HISTORY) == a + b
    assert len(fake.lines("me", "p", "r2", OUTPUT)) == 2
    assert fake.run("me", "p", "r2")["state"] == "finished"


def test_resume_must_and_never_and_unset(fake: FakeWandb) -> None:
    w = World(fake.url)
    rr = w.start_run(pb.RunRecord(run_id="nope", project="p", entity="me", resume="must"))
    assert rr.HasField("error") and rr.error.code == pb.ErrorInfo.NOT_FOUND
    assert "nope" in rr.error.message
    w.close()
    # create a run with rows
    w = World(fake.url)
    w.start_run(pb.RunRecord(run_id="r3", project="p", entity="me"))
    w.fs.add_history(rows(0, 3), 30)
    w.flush(0)
    w.close()
    w = World(fake.url)
    rr = w.start_run(pb.RunRecord(run_id="r3", project="p", entity="me", resume="never"))
    assert rr.error.code == pb.ErrorInfo.CONFLICT
    w.close()
    # no resume given but the run has rows: refused instead of silently losing rows
    w = World(fake.url)
    rr = w.start_run(pb.RunRecord(run_id="r3", project="p", entity="me"))
    assert rr.error.code == pb.ErrorInfo.CONFLICT and "resume" in rr.error.message
    w.close()


def test_failed_post_is_resent_with_same_offsets(fake: FakeWandb) -> None:
    w = World(fake.url)
    w.start_run(pb.RunRecord(run_id="r4", project="p", entity="me"))
    a = rows(0, 4)
    w.fs.add_history(a, sum(map(len, a)))
    assert wait_until(lambda: w.fs.counters()[2] == 0)
    # the server stores the next post, then answers 500: the client re-sends it
    fake.inject("file_stream", 500, commit=True)
    b = rows(4, 6)
    w.fs.add_history(b, sum(map(len, b)))
    assert wait_until(lambda: w.fs.counters()[2] == 0)
    w.flush(0)
    w.close()
    hist_posts = [p["files"][HISTORY] for p in fake.posts if HISTORY in p["files"]]
    assert [p["offset"] for p in hist_posts] == [0, 4, 4]
    assert hist_posts[1] == hist_posts[2]
    assert fake.lines("me", "p", "r4", HISTORY) == a + b  # once each


def test_refused_post_is_counted_not_silent(fake: FakeWandb, caplog: Any) -> None:
    w = World(fake.url)
    w.start_run(pb.RunRecord(run_id="r5", project="p", entity="me"))
    fake.inject("file_stream", 400)
    a = rows(0, 3)
    w.fs.add_history(a, sum(map(len, a)))
    assert wait_until(lambda: w.fs.dropped_lines == 3)
    snap = w.t.status.snapshot()
    assert snap["state"] == "failed" and snap["dropped_lines"] == 3 and snap["status_code"] == 400
    assert any("refused 3 lines" in r.getMessage() for r in caplog.records)
    b = rows(3, 2)
    w.fs.add_history(b, sum(map(len, b)))
    w.flush(0)
    assert not w.fs.ok
    w.close()
    assert (
        fake.lines("me", "p", "r5", HISTORY) == b
    )  # offsets were not advanced by the refused post


def test_max_post_bytes_splits_posts(fake: FakeWandb) -> None:
    w = World(fake.url, max_post_bytes=2000)
    w.start_run(pb.RunRecord(run_id="r6", project="p", entity="me"))
    a = rows(0, 300)
    w.fs.add_history(a, sum(map(len, a)))
    w.flush(0)
    w.close()
    assert fake.lines("me", "p", "r6", HISTORY) == a
    hist = [p["files"][HISTORY] for p in fake.posts if HISTORY in p["files"]]
    assert len(hist) > 5
    expect = 0
    for chunk in hist:
        assert chunk["offset"] == expect
        assert sum(map(len, chunk["content"])) <= 2000
        expect += len(chunk["content"])


def test_backpressure_blocks_then_drains(fake: FakeWandb) -> None:
    w = World(fake.url, max_pending_bytes=5000, max_post_bytes=4000)
    w.start_run(pb.RunRecord(run_id="r7", project="p", entity="me"))
    fake.delay = 0.2
    total: list[str] = []
    t0 = time.monotonic()
    for i in range(10):
        r = rows(i * 40, 40)  # ~1.3 kB each
        total += r
        w.fs.add_history(r, sum(map(len, r)))
        assert w.fs.pending_bytes <= 5000 + 2000
    assert time.monotonic() - t0 > 0.3  # it had to wait for the worker
    fake.delay = 0.0
    w.flush(0)
    w.close()
    assert fake.lines("me", "p", "r7", HISTORY) == total


def test_heartbeat_and_summary_replace(fake: FakeWandb) -> None:
    w = World(fake.url, heartbeat_interval=0.1)
    w.start_run(pb.RunRecord(run_id="r8", project="p", entity="me"))
    assert wait_until(lambda: len(fake.posts) >= 2, 3)
    assert fake.posts[0] == {"files": {}}
    w.fs.set_summary('{"a": 1}')
    w.fs.set_summary('{"a": 2}')
    w.flush(0)
    w.close()
    assert fake.run("me", "p", "r8")["summary"] == {"a": 2}
    acked, total, pending = w.fs.counters()
    assert acked == total == len('{"a": 2}') and pending == 0


def test_offsets_job_from_log(fake: FakeWandb) -> None:
    """A RunRecord with offsets_known (replay) sets the offsets; nothing is queried."""
    w = World(fake.url, replay=True)
    run = pb.RunRecord(run_id="r9", project="p", entity="me")
    w.fs.submit(RunJob(run, None, []))
    known = pb.RunRecord()
    known.CopyFrom(run)
    known.offsets_known = True
    known.history_line_offset = 20
    w.fs.submit(OffsetsJob(known))
    a = rows(20, 3)
    w.fs.add_history(a, sum(map(len, a)))
    w.flush(0)
    w.close()
    hist = [p["files"][HISTORY] for p in fake.posts if HISTORY in p["files"]]
    assert hist[0]["offset"] == 20
    assert all(op != "RunResumeStatus" for op, _ in fake.graphql_ops)


def test_encode_post_matches_json_dumps() -> None:
    lines = [json.dumps({"a": i, "s": 'é"\n', "n": float("nan")}) for i in range(2_500)]
    files = {
        HISTORY: {"offset": 5, "content": lines},
        "wandb-summary.json": {"offset": 0, "content": ['{"x": 1}']},
    }
    body = encode_post(files, complete=True, exit_code=3)
    assert json.loads(body) == {"files": files, "complete": True, "exitcode": 3}
    assert json.loads(encode_post({}, complete=False, exit_code=None)) == {"files": {}}
    assert b"complete" not in encode_post(files, complete=False, exit_code=None)

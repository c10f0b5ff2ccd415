"""FileStreamPoster: batched posts with per-file offsets, retries, heartbeats, the final post,
spilling to and reading back from a live transaction log — through its public methods."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.sender.filestream_wire import RunIdentity
from nbtrack.pipeline.sender.flowcontrol import LogTail
from nbtrack.pipeline.sender.poster import FileStreamPoster
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import LogWriter
from nbtrack.wire.files import EVENTS, HISTORY, OUTPUT

from helpers.fakewandb import FakeWandb, make_transport
from helpers.wait import never_within, wait_until


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


def rows(first: int, n: int) -> list[str]:
    return [json.dumps({"_step": s, "loss": 1.0 / (s + 1)}) for s in range(first, first + n)]


class Poster:
    """A started poster for run me/p/<run_id>, opened at ``offsets``."""

    def __init__(self, url: str, run_id: str, offsets: dict[str, int] | None = None,
                 **kw: Any) -> None:
        self.t: WandbClient = make_transport(url)
        kw.setdefault("post_interval", 0.05)
        self.p = FileStreamPoster(self.t, **kw)
        self.p.start()
        self.run_id = run_id
        self.p.open(RunIdentity("me", "p", run_id), offsets or {})

    def add(self, lines: list[str], num: int = 0) -> None:
        self.p.add_history(lines, sum(map(len, lines)), num)

    def acked_all(self) -> bool:
        return self.p.counters()[2] == 0

    def finish(self, exit_code: int | None = 0, complete: bool = True) -> None:
        assert self.p.finish(exit_code, complete=complete).wait(10)

    def close(self) -> None:
        self.p.end()
        assert self.p.join(5)
        self.t.close()


def test_offsets_continue_across_posts(fake: FakeWandb) -> None:
    w = Poster(fake.url, "r1")
    a = rows(0, 10)
    w.add(a)
    assert wait_until(w.acked_all)
    b = rows(10, 15)
    w.add(b)
    w.p.add_event('{"cpu": 1}')
    w.p.add_output("hello", False, 1.7e9)
    w.p.add_output("oops", True, 1.7e9)
    w.finish(0)
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
    assert w.p.final_acked and w.p.dropped_lines == 0
    acked, total, pending = w.p.counters()
    assert acked == total and pending == 0
    w.close()


def test_opened_at_offsets_continues_there(fake: FakeWandb) -> None:
    """A resumed run (or a replayed log) continues each file where the server has it."""
    w = Poster(fake.url, "r2", {HISTORY: 7, EVENTS: 2, OUTPUT: 1})
    w.add(rows(7, 3))
    w.p.add_output("more", False, 1.7e9)
    w.finish(0)
    w.close()
    assert sorted(fake.run("me", "p", "r2")["files"][HISTORY]) == [7, 8, 9]
    assert sorted(fake.run("me", "p", "r2")["files"][OUTPUT]) == [1]


def test_first_offsets_given_win(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    p = FileStreamPoster(t, post_interval=0.05)
    p.set_offsets({HISTORY: 20})
    p.start()
    p.open(RunIdentity("me", "p", "r3"), {HISTORY: 0})  # repeats: the first offsets stay
    p.add_history(rows(20, 2), 40, 0)
    assert p.finish(0).wait(10)
    p.end()
    assert p.join(5)
    t.close()
    assert sorted(fake.run("me", "p", "r3")["files"][HISTORY]) == [20, 21]


def test_nothing_is_posted_before_the_run_is_open(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    p = FileStreamPoster(t, post_interval=0.01, heartbeat_interval=0.01)
    p.start()
    p.add_history(rows(0, 3), 60, 0)
    assert never_within(lambda: fake.posts, 0.3)
    p.open(RunIdentity("me", "p", "r4"), {})
    assert wait_until(lambda: p.counters()[2] == 0)
    p.end()
    assert p.join(5)
    t.close()


def test_failed_post_is_resent_with_same_offsets(fake: FakeWandb) -> None:
    w = Poster(fake.url, "r4")
    a = rows(0, 4)
    w.add(a)
    assert wait_until(w.acked_all)
    # the server stores the next post, then answers 500: the client re-sends it
    fake.inject("file_stream", 500, commit=True)
    b = rows(4, 6)
    w.add(b)
    assert wait_until(w.acked_all)
    w.finish(0)
    w.close()
    hist_posts = [p["files"][HISTORY] for p in fake.posts if HISTORY in p["files"]]
    assert [p["offset"] for p in hist_posts] == [0, 4, 4]
    assert hist_posts[1] == hist_posts[2]
    assert fake.lines("me", "p", "r4", HISTORY) == a + b  # once each


def test_refused_post_is_counted_not_silent(fake: FakeWandb, caplog: Any) -> None:
    w = Poster(fake.url, "r5")
    fake.inject("file_stream", 400)
    w.add(rows(0, 3))
    assert wait_until(lambda: w.p.dropped_lines == 3)
    snap = w.t.status.snapshot()
    assert snap["state"] == "failed" and snap["dropped_lines"] == 3 and snap["status_code"] == 400
    assert any("3 lines not stored" in r.getMessage() for r in caplog.records)
    b = rows(3, 2)
    w.add(b)
    w.finish(0)
    w.close()
    # the refused lines keep their offsets (0..2, for sync to fill in); later lines theirs
    hist = [p["files"][HISTORY] for p in fake.posts if HISTORY in p["files"]]
    assert [(h["offset"], h["content"]) for h in hist] == [(3, b)]
    assert w.p.final_acked and w.p.not_stored_reason.startswith("file_stream: HTTP 400")


def test_a_413_posts_the_lines_again_in_halves(fake: FakeWandb) -> None:
    w = Poster(fake.url, "r13")
    fake.inject("file_stream", 413)
    a = rows(0, 40)
    w.add(a)
    w.finish(0)
    w.close()
    assert fake.lines("me", "p", "r13", HISTORY) == a  # once each, at their offsets
    assert w.p.dropped_lines == 0 and w.p.final_acked and w.p.not_stored_reason == ""
    hist = [p["files"][HISTORY] for p in fake.posts if HISTORY in p["files"]]
    assert len(hist) >= 2 and hist[0]["offset"] == 0


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_named_and_the_lines_kept(fake: FakeWandb, status: int) -> None:
    w = Poster(fake.url, f"r{status}")
    fake.inject("file_stream", status)
    w.add(rows(0, 3))
    assert wait_until(lambda: w.p.dropped_lines == 3)
    assert "API key" in w.p.not_stored_reason and f"HTTP {status}" in w.p.not_stored_reason
    w.finish(0)
    w.close()
    assert w.p.final_acked  # the run's end is still stored; the 3 lines wait for sync


def test_max_post_bytes_splits_posts(fake: FakeWandb) -> None:
    w = Poster(fake.url, "r6", max_post_bytes=2000)
    a = rows(0, 300)
    w.add(a)
    w.finish(0)
    w.close()
    assert fake.lines("me", "p", "r6", HISTORY) == a
    hist = [p["files"][HISTORY] for p in fake.posts if HISTORY in p["files"]]
    assert len(hist) > 5
    expect = 0
    for chunk in hist:
        assert chunk["offset"] == expect
        assert sum(map(len, chunk["content"])) <= 2000
        expect += len(chunk["content"])


def test_without_a_log_adding_waits_for_room(fake: FakeWandb) -> None:
    w = Poster(fake.url, "r7", max_held_bytes=5000, max_post_bytes=4000)
    fake.delay = 0.2
    total: list[str] = []
    t0 = time.monotonic()
    for i in range(10):
        r = rows(i * 40, 40)  # ~1.3 kB each
        total += r
        w.add(r)
        assert w.p.held_bytes <= 5000 + 2000
    assert time.monotonic() - t0 > 0.3  # it had to wait for the poster
    fake.delay = 0.0
    w.finish(0)
    w.close()
    assert fake.lines("me", "p", "r7", HISTORY) == total


def test_heartbeat_and_summary_replace(fake: FakeWandb) -> None:
    w = Poster(fake.url, "r8", heartbeat_interval=0.1)
    assert wait_until(lambda: len(fake.posts) >= 2, 3)
    assert fake.posts[0] == {"files": {}}
    w.p.set_summary('{"a": 1}')
    w.p.set_summary('{"a": 2}')
    w.finish(0)
    w.close()
    assert fake.run("me", "p", "r8")["summary"] == {"a": 2}
    acked, total, pending = w.p.counters()
    assert acked == total == len('{"a": 2}') and pending == 0


def test_finish_without_complete_posts_everything_but_the_end(fake: FakeWandb) -> None:
    w = Poster(fake.url, "r9", max_post_bytes=500)
    w.add(rows(0, 50))
    w.finish(None, complete=False)
    assert len(fake.lines("me", "p", "r9", HISTORY)) == 50
    assert all("complete" not in p for p in fake.posts) and not w.p.final_acked
    w.close()


def test_a_failed_run_drops_its_lines_and_finish_still_answers(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    p = FileStreamPoster(t, post_interval=0.05)
    p.start()
    p.add_history(rows(0, 3), 60, 0)
    p.run_failed()
    assert p.finish(0).wait(5)
    assert p.dropped_lines == 3 and p.counters()[2] == 0 and fake.posts == []
    p.end()
    assert p.join(5)
    t.close()


def test_end_posts_what_is_pending_and_a_closed_transport_ends_at_once(fake: FakeWandb) -> None:
    w = Poster(fake.url, "ra", post_interval=60.0)
    w.add(rows(0, 5))
    w.p.end()  # a detached run: one last best-effort post
    assert w.p.join(5)
    assert len(fake.lines("me", "p", "ra", HISTORY)) == 5
    w.t.close()
    w2 = Poster(fake.url, "rb")
    fake.inject("file_stream", 503, times=10_000, retry_after="30")
    w2.add(rows(0, 5))
    done = w2.p.finish(0)
    assert not done.wait(0.3)  # stuck retrying
    w2.t.close()
    assert done.wait(2) and w2.p.counters()[2] == 5  # not acknowledged: kept for sync
    w2.p.end()
    assert w2.p.join(5)


# --------------------------------------------------------------------------- flow control


def _logged(w: LogWriter, rec: pb.Record) -> pb.Record:
    w.append(rec.SerializeToString())
    return rec


def test_spilled_lines_come_back_from_the_log_in_order(fake: FakeWandb, tmp_path: Path,
                                                       caplog: Any) -> None:
    """Over the budget the poster leaves history, stats and console lines in the live log and
    reads them back as posts make room: every line arrives once, in order."""
    caplog.set_level(logging.INFO, "nbtrack.pipeline.sender.poster")
    path = tmp_path / "run.nbtrack"
    log = LogWriter(path)
    fake.delay = 0.05
    w = Poster(fake.url, "rc", max_held_bytes=200, max_post_bytes=80, tail=LogTail(path))
    for n in range(1, 61):
        rec = pb.Record(num=n)
        if n % 3 == 0:
            rec.stats.row_json = json.dumps({"n": n})
            _logged(log, rec)
            w.p.add_event(rec.stats.row_json, n)
        elif n % 3 == 1:
            rec.output.line = f"out {n}"
            rec.output.timestamp = 1_700_000_000.0
            _logged(log, rec)
            w.p.add_output(rec.output.line, False, rec.output.timestamp, n)
        else:
            rec.history.rows.append(json.dumps({"_step": n}))
            _logged(log, rec)
            w.p.add_history(list(rec.history.rows), len(rec.history.rows[0]), n)
        assert w.p.held_bytes <= 200 + 80
    log.flush()
    assert w.p.spills >= 1
    assert any("read back from the transaction log" in r.getMessage() for r in caplog.records)
    fake.delay = 0.0
    w.finish(0)
    w.close()
    log.close()
    hist = fake.lines("me", "p", "rc", HISTORY)
    assert [json.loads(r)["_step"] for r in hist] == [n for n in range(1, 61) if n % 3 == 2]
    events = fake.lines("me", "p", "rc", EVENTS)
    assert [json.loads(r)["n"] for r in events] == list(range(3, 61, 3))
    out = fake.lines("me", "p", "rc", OUTPUT)
    assert [line.split(" ", 1)[1] for line in out] == [f"out {n}" for n in range(1, 61, 3)]


def test_spilled_lines_wait_for_the_writer_to_flush(fake: FakeWandb, tmp_path: Path) -> None:
    path = tmp_path / "run.nbtrack"
    log = LogWriter(path)
    w = Poster(fake.url, "rd", max_held_bytes=30, max_post_bytes=30, tail=LogTail(path))
    fake.delay = 0.2  # the first post is in flight while the rest arrives
    first = _logged(log, pb.Record(num=1, history=pb.HistoryRecord(rows=["a" * 25])))
    w.p.add_history(list(first.history.rows), 25, 1)
    for n in range(2, 6):
        rec = _logged(log, pb.Record(num=n, history=pb.HistoryRecord(rows=[str(n) * 20])))
        w.p.add_history(list(rec.history.rows), 20, n)
    assert w.p.spills == 1
    fake.delay = 0.0
    # not flushed yet: the poster cannot read the spilled rows back
    assert never_within(lambda: len(fake.lines("me", "p", "rd", HISTORY)) > 1, 0.5)
    log.flush()
    assert wait_until(lambda: len(fake.lines("me", "p", "rd", HISTORY)) == 5)
    w.finish(0)
    w.close()
    log.close()


def test_finish_is_answered_once_the_poster_ended(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    p = FileStreamPoster(t)
    p.start()
    p.end()
    assert p.join(5)
    done = p.finish(0)
    assert done.is_set()
    t.close()
    assert isinstance(done, threading.Event)

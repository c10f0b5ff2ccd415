"""Back-pressure as docs/architecture.md states it: ``log()`` waits while the pipeline is
behind, for as long as it takes, and fails at once (never hangs) when the handler is gone."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nbtrack.pipeline.config import PipelineConfig
from nbtrack.pipeline.interface import PipelineStoppedError
from nbtrack.pipeline.queues import CONSUMER_CHECK, ByteQueue, QueueClosed
from nbtrack.pipeline.stream import Stream

from helpers.wait import never_within, wait_until


def test_put_waits_for_a_slow_consumer_past_every_check_then_goes_on() -> None:
    q = ByteQueue(10, "q")
    release = threading.Event()

    def consumer() -> None:
        release.wait(30)
        q.get_batch(10)

    t = threading.Thread(target=consumer)
    t.start()
    q.watch_consumer(t.is_alive)
    q.put("first", 10)
    done = threading.Event()
    producer = threading.Thread(target=lambda: (q.put("second", 10), done.set()))
    producer.start()
    wait_until(lambda: q.waiting_producers() == 1, 5, message="the put never blocked")
    # blocked across several liveness checks: a slow consumer is no reason to give up
    assert never_within(done.is_set, 4 * CONSUMER_CHECK)
    release.set()
    wait_until(done.is_set, 5, message="the put did not go on once there was room")
    producer.join(5)
    t.join(5)
    assert q.get_batch(10) == ["second"]
    assert q.blocked_seconds >= 4 * CONSUMER_CHECK


def test_put_fails_at_once_when_the_consumer_has_died() -> None:
    q = ByteQueue(10, "record_q")
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    q.watch_consumer(t.is_alive)
    q.put("first", 10)
    with pytest.raises(QueueClosed, match="record_q: its consumer has stopped"):
        q.put("second", 10)


def test_log_after_the_handler_died_says_so(tmp_path: Path) -> None:
    """A real stream whose handler thread is gone: the next publish that would wait raises
    PipelineStoppedError naming what to do, instead of waiting forever."""
    stream = Stream(PipelineConfig(record_queue_bytes=1024), tmp_path / "run.nbtrack", None)
    stream.start()
    handler = stream.handler
    assert handler is not None
    stream.record_q.put_end()  # the handler ends as it does at close, nothing drains after
    wait_until(lambda: not handler.alive, 10, message="the handler did not end")
    row = {"x": 1.0}
    with pytest.raises(PipelineStoppedError, match="nbtrack sync"):
        for _ in range(1000):  # fills 1 KiB within a few calls, then must fail, not wait
            stream.interface.publish_log(row, None, True)
    stream.close(5)


def test_record_q_counts_what_a_call_really_weighs(tmp_path: Path) -> None:
    """A 10,000-value array per call is ~90 KB, not "200 + 100 per key" bytes: the queue's
    bound (16 MiB) holds about 180 such calls, not 55,000 (which was 17 GB of Python
    objects on the way to an out-of-memory kill). The stream is not started, so nothing
    drains and the call that does not fit fails at once (no handler to wait for)."""
    stream = Stream(PipelineConfig(), tmp_path / "run.nbtrack", None)
    row = {"weights": [0.5 + i for i in range(10_000)]}
    accepted = 0
    with pytest.raises(PipelineStoppedError):
        for _ in range(100_000):
            stream.interface.publish_log(row, None, True)
            accepted += 1
    assert 150 <= accepted <= 200, accepted
    assert stream.record_q.pending_bytes <= PipelineConfig().record_queue_bytes

import threading
import time

import pytest

from nbtrack.pipeline.queues import END, ByteQueue, QueueClosed

from helpers.wait import wait_until


def test_fifo_batches_and_byte_accounting() -> None:
    q = ByteQueue(1000)
    for i in range(10):
        q.put(i, 10)
    assert q.pending_bytes == 100
    assert q.get_batch(4) == [0, 1, 2, 3]
    assert q.pending_bytes == 60
    assert q.get_batch(100) == [4, 5, 6, 7, 8, 9]
    assert q.get_batch(10, timeout=0.01) == []


def test_put_blocks_when_full_until_consumer_takes() -> None:
    q = ByteQueue(100)
    q.put("a", 80)
    done = threading.Event()

    def producer() -> None:
        q.put("b", 50)
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    assert not done.wait(0.2), "put must block while the queue is over its byte bound"
    assert q.get_batch(1) == ["a"]
    assert done.wait(2.0)
    t.join()
    assert q.blocked_seconds >= 0.15


def test_put_timeout_raises_and_oversized_item_accepted_when_empty() -> None:
    q = ByteQueue(10)
    q.put("big", 1000)  # larger than the bound, accepted because the queue is empty
    with pytest.raises(TimeoutError):
        q.put("x", 1, timeout=0.05)


def test_end_marker_never_blocks_and_close_wakes_producers() -> None:
    q = ByteQueue(10)
    q.put("a", 10)
    q.put_end()
    assert q.get_batch(10) == ["a", END]
    q.put("b", 10)
    errors: list[BaseException] = []

    def producer() -> None:
        try:
            q.put("c", 10)
        except QueueClosed as exc:
            errors.append(exc)

    t = threading.Thread(target=producer)
    t.start()
    wait_until(lambda: q.waiting_producers(), 5, message="the producer never blocked")
    q.close()
    t.join(2.0)
    assert not t.is_alive()
    assert len(errors) == 1


def test_put_front_jumps_the_line_even_when_full() -> None:
    q = ByteQueue(10)
    q.put("a", 10)
    q.put_front("urgent", 5)
    assert q.get_batch(10) == ["urgent", "a"]


def test_lazy_put_does_not_wake_the_consumer_until_enough_items() -> None:
    from nbtrack.pipeline.queues import WAKE_ITEMS

    q = ByteQueue(10**9)
    got: list[list[object]] = []
    t = threading.Thread(target=lambda: got.append(q.get_batch(10**6, timeout=2.0)))
    t.start()
    wait_until(lambda: q.waiting_consumers(), 5, message="the consumer never waited")
    start = time.monotonic()
    q.put("row", 1, wake=False)
    t.join(0.3)
    assert t.is_alive(), "a lazy put must not wake the consumer"
    for _ in range(WAKE_ITEMS):
        q.put("row", 1, wake=False)
    t.join(2.0)
    assert not t.is_alive() and time.monotonic() - start < 1.5
    assert len(got[0]) >= 1

"""The run-update sequence numbers: always growing, and parsed strictly by the server."""

from __future__ import annotations

import threading
import time

import pytest

from nbtrack.wire.ordering import MAX_SEQ, next_seq, parse_seq


def test_next_seq_grows_across_threads_and_is_at_least_the_clock() -> None:
    before = time.time_ns()
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [next_seq() for _ in range(2000)]
        assert mine == sorted(set(mine))
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 8000 and min(got) >= before


@pytest.mark.parametrize(("header", "seq"), [
    ("42", 42), (" 7 ", 7), (str(MAX_SEQ), MAX_SEQ),
    (None, None), ("", None), ("0", None), ("-3", None), ("1e9", None), ("abc", None),
    (str(MAX_SEQ + 1), None), ("9" * 30, None),
])
def test_parse_seq_takes_only_positive_integers_the_databases_can_hold(
        header: str | None, seq: int | None) -> None:
    assert parse_seq(header) == seq

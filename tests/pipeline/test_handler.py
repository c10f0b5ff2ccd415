"""The Handler thread with a real (memory-only) RingQueue, a real Mailbox, list emits."""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from nbtrack.pipeline.dispatch import UnknownRecord
from nbtrack.pipeline.handler.rows import Rows
from nbtrack.pipeline.handler.stage import Handler
from nbtrack.pipeline.mailbox import Mailbox
from nbtrack.pipeline.queues import END, QueueClosed
from nbtrack.pipeline.ringqueue import RingQueue
from nbtrack.proto import nbtrack_pb2 as pb

from helpers.wait import never_within, wait_until

D = pb.DeferRequest
START = 1_000.0


class Harness:
    def __init__(self, *, summary_interval: float = 3600.0, start: bool = True) -> None:
        self.q = RingQueue(None, 1 << 24, "record_q")
        self.writer: list[tuple[Any, int]] = []
        self.sender: list[tuple[Any, int]] = []
        self.mailbox = Mailbox()
        self.warnings: list[str] = []
        self.handler = Handler(
            self.q,
            self._to_writer,
            self._to_sender,
            self.mailbox.deliver,
            self.warnings.append,
            summary_interval=summary_interval,
        )
        if start:
            self.handler.start()

    def _to_writer(self, record: Any, nbytes: int) -> None:
        self.writer.append((record, nbytes))

    def _to_sender(self, record: Any, nbytes: int) -> None:
        self.sender.append((record, nbytes))

    def log(
        self, data: dict, step: int | None = None, commit: bool = True, ts: float = START
    ) -> None:
        self.q.put((data, step, commit, ts), 100)

    def put(self, record: pb.Record) -> None:
        self.q.put(record, record.ByteSize())

    def run_record(self, start_time: float = START, **kw: Any) -> None:
        self.put(pb.Record(run=pb.RunRecord(run_id="r1", start_time=start_time, **kw)))

    def request_record(self, **kw: Any) -> tuple[pb.Record, Any]:
        handle = self.mailbox.reserve()
        rec = pb.Record(request=pb.Request(**kw))
        rec.control.mailbox_slot = handle.slot
        rec.control.req_resp = True
        return rec, handle

    def request(self, **kw: Any) -> pb.Result:
        rec, handle = self.request_record(**kw)
        self.put(rec)
        result = handle.wait(5.0)
        assert result is not None, f"no answer to {kw}"
        assert result.mailbox_slot == handle.slot
        return result

    def flush(self) -> None:
        self.request(flush=pb.FlushRequest())

    def records(self, sink: str = "writer", kind: str | None = None) -> list[pb.Record]:
        items = self.writer if sink == "writer" else self.sender
        out = [r for r, _ in items if r is not END]
        if kind is not None:
            out = [r for r in out if r.WhichOneof("record_type") == kind]
        return out

    def rows(self, sink: str = "writer") -> list[dict]:
        return [json.loads(t) for r in self.records(sink, "history") for t in r.history.rows]

    def summary(self) -> dict:
        return json.loads(self.request(get_summary=pb.GetSummaryRequest()).get_summary.summary_json)

    def close(self) -> None:
        self.q.put_end()
        assert self.handler.join(5.0)
        assert not self.handler.errors  # nothing went wrong unnoticed in the thread


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def user_rows(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("_runtime", "_timestamp")} for r in rows]


# ---------------------------------------------------------------- steps


def test_auto_steps_runtime_and_timestamp(h: Harness) -> None:
    h.run_record(start_time=START)
    h.log({"a": 1.0}, ts=START + 0.5)
    h.log({"a": 2.0}, ts=START + 1.25)
    h.flush()
    rows = h.rows()
    assert user_rows(rows) == [{"a": 1.0, "_step": 0}, {"a": 2.0, "_step": 1}]
    assert [r["_runtime"] for r in rows] == [0.5, 1.25]
    assert [r["_timestamp"] for r in rows] == [START + 0.5, START + 1.25]


def test_runtime_uses_first_log_before_run_record(h: Harness) -> None:
    h.log({"a": 1}, ts=50.0)
    h.log({"a": 2}, ts=52.5)
    h.flush()
    assert [r["_runtime"] for r in h.rows()] == [0.0, 2.5]


def test_commit_false_merges_into_one_row(h: Harness) -> None:
    h.log({"a": 1}, commit=False)
    h.log({"b": 2}, commit=False)
    h.flush()
    assert h.rows() == []  # a flush does not commit the partial row
    h.log({"c": 3})
    h.log({"d": 4})
    h.flush()
    assert user_rows(h.rows()) == [{"a": 1, "b": 2, "c": 3, "_step": 0}, {"d": 4, "_step": 1}]


def test_explicit_higher_step_commits_pending_first(h: Harness) -> None:
    h.log({"a": 1}, commit=False)
    h.log({"b": 2}, step=5)
    h.log({"c": 3})
    h.log({"d": 4}, step=10, commit=False)
    h.log({"e": 5}, step=10)
    h.flush()
    assert user_rows(h.rows()) == [
        {"a": 1, "_step": 0},
        {"b": 2, "_step": 5},
        {"c": 3, "_step": 6},
        {"d": 4, "e": 5, "_step": 10},
    ]
    assert h.handler.step == 11


def test_lower_step_refused_with_warning(h: Harness) -> None:
    for i in range(3):
        h.log({"a": i})
    h.log({"b": 1}, step=5, commit=False)
    h.log({"zzz": 9}, step=1)
    h.log({"c": 1})
    h.flush()
    rows = user_rows(h.rows())
    assert all("zzz" not in r for r in rows)
    assert rows[-1] == {"b": 1, "c": 1, "_step": 5}  # the pending row was left alone
    assert len(h.warnings) == 1
    msg = h.warnings[0]
    assert "step 1 " in msg and "current step 5" in msg and "not logged" in msg


def test_numbers_then_text_under_one_key_warns_once(h: Harness) -> None:
    """W&B takes both silently; nbtrack keeps both and says once that charts skip the text."""
    h.log({"m": 1.0, "s": "a"})
    h.flush()
    h.log({"m": "hello", "s": "b"})  # after numbers in an earlier batch
    h.log({"m": 2.0})
    h.log({"k": 1, "s": "c"})
    h.log({"k": "x"})  # numbers and text in the same batch
    h.flush()
    assert [r["m"] for r in user_rows(h.rows()) if "m" in r] == [1.0, "hello", 2.0]
    assert sorted(h.warnings) == ["key 'k' holds numbers and text: charts show the numbers",
                                  "key 'm' holds numbers and text: charts show the numbers"]
    h.log({"m": "again", "k": "again"})
    h.flush()
    assert len(h.warnings) == 2  # once per key


def test_resumed_starting_step_and_runtime_offset(h: Harness) -> None:
    h.run_record(start_time=START)
    result = h.request(
        run_start=pb.RunStartRequest(
            run=pb.RunRecord(starting_step=100, runtime_offset=50.0, start_time=START)
        )
    )
    assert result.WhichOneof("result_type") is None  # an empty Result carrying the slot
    h.log({"a": 1}, ts=START + 2.0)
    h.log({"a": 2}, step=99)  # lower than the resumed step
    h.flush()
    rows = h.rows()
    assert [r["_step"] for r in rows] == [100]
    assert rows[0]["_runtime"] == pytest.approx(52.0)
    assert "step 99" in h.warnings[0] and "current step 101" in h.warnings[0]
    assert h.records("sender", "request") == []  # run_start is answered by the handler


# ---------------------------------------------------------------- batches, order, num


def test_batches_preserve_order_and_num() -> None:
    h = Harness(start=False)
    h.run_record()
    h.log({"a": 0})
    h.log({"a": 1})
    h.put(pb.Record(config=pb.ConfigRecord(update_json='{"lr": 0.1}')))
    h.log({"a": 2})
    h.put(pb.Record(stats=pb.StatsRecord(row_json="{}")))
    h.log({"a": 3})
    h.handler.start()
    h.flush()
    kinds = [r.WhichOneof("record_type") for r in h.records()]
    assert kinds == ["run", "history", "config", "history", "stats", "history"]
    histories = h.records(kind="history")
    assert [r.history.first_step for r in histories] == [0, 2, 3]
    assert [r.history.last_step for r in histories] == [1, 2, 3]
    assert [r.num for r in h.records()] == [1, 2, 3, 4, 5, 6]
    # the same objects go to the writer and the sender
    assert [id(r) for r, _ in h.writer] == [
        id(r) for r, _ in h.sender if r.WhichOneof("record_type") != "request"
    ]
    first, nbytes = h.writer[1]
    assert nbytes == sum(len(t) for t in first.history.rows) + 64
    h.close()


def test_requests_get_no_num_and_local_records_none(h: Harness) -> None:
    h.log({"a": 1})
    local = pb.Record(output=pb.OutputRecord(line="x"))
    local.control.local = True
    h.put(local)
    h.put(pb.Record(exit=pb.ExitRecord(exit_code=0)))
    rec, _ = h.request_record(poll_exit=pb.PollExitRequest())
    h.put(rec)
    h.flush()
    nums = [(r.WhichOneof("record_type"), r.num) for r in h.records("sender")]
    assert nums == [("history", 1), ("output", 0), ("exit", 2), ("request", 0)]
    assert h.records("writer", "request") == []


def test_config_merge_and_run_seed(h: Harness) -> None:
    h.run_record(config_json='{"lr": 0.1, "bs": 32}')
    h.put(pb.Record(config=pb.ConfigRecord(update_json='{"lr": 0.2, "opt": "adam"}')))
    h.put(pb.Record(config=pb.ConfigRecord(remove=["bs"])))
    h.flush()
    configs = h.records(kind="config")
    assert json.loads(configs[0].config.full_json) == {"lr": 0.2, "bs": 32, "opt": "adam"}
    assert json.loads(configs[1].config.full_json) == {"lr": 0.2, "opt": "adam"}
    assert h.records("sender", "config") == configs


def test_run_record_forwarded_with_its_slot(h: Harness) -> None:
    rec = pb.Record(run=pb.RunRecord(run_id="abc", start_time=START))
    rec.control.mailbox_slot = "s99"
    rec.control.req_resp = True
    h.put(rec)
    h.flush()
    (sent,) = h.records("sender", "run")
    assert sent.control.mailbox_slot == "s99" and sent.run.run_id == "abc"
    assert h.records("writer", "run") == [sent]


# ---------------------------------------------------------------- summary


def test_summary_last_aggregates_and_overrides(h: Harness) -> None:
    h.put(
        pb.Record(
            metric=pb.MetricRecord(
                name="loss", summary=["min", "max", "mean", "first", "best"], goal="minimize"
            )
        )
    )
    h.put(pb.Record(metric=pb.MetricRecord(name="acc", summary=["max", "last"])))
    for loss, acc in [(3.0, 0.1), (float("nan"), 0.5), (1.0, 0.3)]:
        h.log({"loss": loss, "acc": acc, "tag": "t"})
    s = h.summary()
    assert s["loss"] == {"min": 1.0, "max": 3.0, "mean": 2.0, "first": 3.0, "best": 1.0}
    assert s["acc"] == {"max": 0.5, "last": 0.3}
    assert s["tag"] == "t" and s["_step"] == 2
    h.put(
        pb.Record(
            summary=pb.SummaryRecord(update_json='{"tag": "final", "extra": 1}', remove=["acc"])
        )
    )
    s = h.summary()
    assert s["tag"] == "final" and s["extra"] == 1 and "acc" not in s
    h.log({"tag": "again"})
    s = h.summary()
    assert s["tag"] == "again" and s["extra"] == 1 and "acc" not in s
    assert h.records(kind="metric")  # define_metric is forwarded


def test_glob_define_metric(h: Harness) -> None:
    h.put(pb.Record(metric=pb.MetricRecord(name="val/*", summary=["min"], step_metric="epoch")))
    h.log({"val/a": 2.0, "val/b": 5.0, "train": 1.0})
    h.log({"val/a": 1.0, "val/b": 7.0, "train": 0.5})
    s = h.summary()
    assert s["val/a"] == {"min": 1.0} and s["val/b"] == {"min": 5.0} and s["train"] == 0.5


def test_best_without_goal_warns(h: Harness) -> None:
    h.put(pb.Record(metric=pb.MetricRecord(name="loss", summary=["best"])))
    h.flush()
    assert any("best" in w and "goal" in w for w in h.warnings)


def test_summary_nan_and_infinity_encoded(h: Harness) -> None:
    h.log({"x": float("nan"), "y": float("-inf")})
    s = h.summary()
    assert math.isnan(s["x"]) and s["y"] == float("-inf")


def test_summary_emitted_when_changed_and_interval_passed() -> None:
    h = Harness(summary_interval=0.0)
    h.log({"a": 1})
    h.flush()
    assert wait_until(lambda: h.records(kind="summary"))
    sums = h.records(kind="summary")
    assert json.loads(sums[-1].summary.full_json)["a"] == 1
    count = len(sums)
    h.flush()
    # unchanged: nothing new
    assert never_within(lambda: len(h.records(kind="summary")) != count, 0.05)
    h.close()


def test_summary_not_emitted_before_interval(h: Harness) -> None:
    h.log({"a": 1})
    h.flush()
    assert never_within(lambda: h.records(kind="summary"), 0.05)


# ---------------------------------------------------------------- sampled history, flush


def test_sampled_history_request(h: Harness) -> None:
    for i in range(2000):
        h.log({"loss": 1.0 if i != 1234 else 99.0, "flag": True, "name": "n", "acc": i / 10})
    res = h.request(sampled_history=pb.SampledHistoryRequest()).sampled_history
    assert res.rows == 2000 and res.last_step == 1999
    series = {s.key: s for s in res.series}
    assert set(series) == {"loss", "acc"}
    loss = series["loss"]
    assert loss.max == 99.0 and 1234 in loss.steps and loss.count == 2000
    assert list(loss.steps) == sorted(loss.steps) and len(loss.steps) <= 2 * 512 + 1
    assert loss.last == 1.0 and loss.steps[-1] == 1999
    only = h.request(sampled_history=pb.SampledHistoryRequest(keys=["acc", "nope"]))
    assert [s.key for s in only.sampled_history.series] == ["acc"]


def test_flush_answers_after_rows_emitted(h: Harness) -> None:
    h.log({"a": 1})
    h.log({"b": 2}, commit=False)
    result = h.request(flush=pb.FlushRequest())
    assert result.WhichOneof("result_type") == "flush"
    assert user_rows(h.rows()) == [{"a": 1, "_step": 0}]


# ---------------------------------------------------------------- defer routing


def test_defer_routing() -> None:
    h = Harness()
    h.log({"a": 1})
    h.log({"b": 2}, commit=False)
    sender_states = [s for s in D.DeferState.values() if s not in (D.FLUSH_FINAL, D.END)]
    for state in sender_states:
        rec, handle = h.request_record(defer=pb.DeferRequest(state=D.DeferState.Name(state)))
        h.put(rec)
        h.flush()
        assert handle.wait(0.01) is None  # not answered by the handler
        forwarded = h.records("sender", "request")[-1]
        assert forwarded is rec and forwarded.request.defer.state == state
        if state == D.FLUSH_PARTIAL_HISTORY:
            kinds = [r.WhichOneof("record_type") for r in h.records("sender")]
            assert kinds[-2:] == ["history", "request"]
            assert user_rows(h.rows())[-1] == {"b": 2, "_step": 1}
        if state == D.FLUSH_SUM:
            last_two = h.records("sender")[-2:]
            assert last_two[0].WhichOneof("record_type") == "summary"
            assert json.loads(last_two[0].summary.full_json)["b"] == 2
            assert h.records("writer")[-1] is last_two[0]
    assert h.records("writer", "request") == []

    rec, handle = h.request_record(defer=pb.DeferRequest(state=D.FLUSH_FINAL))
    h.put(rec)
    h.flush()
    assert handle.wait(0.01) is None  # the writer answers it, after fsync
    assert h.records("writer")[-2].WhichOneof("record_type") == "final"
    assert h.records("writer")[-1] is rec
    assert h.records("sender")[-1].WhichOneof("record_type") == "final"

    result = h.request(defer=pb.DeferRequest(state=D.END))
    assert result.defer.state == D.END
    h.close()


def test_forwarded_requests_go_to_sender_only(h: Harness) -> None:
    for kind, msg in [
        ("poll_exit", pb.PollExitRequest()),
        ("network_status", pb.NetworkStatusRequest()),
    ]:
        rec, _ = h.request_record(**{kind: msg})
        h.put(rec)
    h.flush()
    forwarded = [r.request.WhichOneof("request_type") for r in h.records("sender", "request")]
    assert forwarded == ["poll_exit", "network_status"]
    assert h.records("writer", "request") == []


# ---------------------------------------------------------------- lifecycle, errors


def test_end_propagates_and_thread_stops() -> None:
    h = Harness()
    h.handler.start()  # twice is fine
    h.log({"a": 1})
    h.log({"b": 1}, commit=False)
    h.q.put_end()
    assert h.handler.join(5.0)
    assert h.handler.join(0.1)
    assert h.writer[-1] == (END, 0) and h.sender[-1] == (END, 0)
    assert user_rows(h.rows()) == [{"a": 1, "_step": 0}, {"b": 1, "_step": 1}]
    assert not h.handler.alive


def test_join_false_while_emit_is_stuck() -> None:
    release = threading.Event()
    q = RingQueue(None, 1 << 20)

    def stuck(record: Any, nbytes: int) -> None:
        release.wait()

    handler = Handler(q, stuck, lambda r, n: None, lambda r: None, lambda m: None)
    assert handler.join(0.1)  # never started
    handler.start()
    q.put(({"a": 1}, None, True, START), 10)
    q.put_end()
    assert not handler.join(0.3)
    release.set()
    assert handler.join(5.0)


def test_thread_name_and_daemon(h: Harness) -> None:
    threads = [t for t in threading.enumerate() if t.name == "nbtrack-handler"]
    assert h.handler.alive and threads and all(t.daemon for t in threads)


def test_exception_in_one_item_does_not_stop_the_loop(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="nbtrack.pipeline.handler.stage")
    h.put(pb.Record(config=pb.ConfigRecord(update_json="{not json")))
    h.q.put(("not", "a", "log", "call", "tuple"), 10)
    h.log({"a": 1})
    h.flush()
    assert user_rows(h.rows()) == [{"a": 1, "_step": 0}]
    assert len([r for r in caplog.records if r.name == "nbtrack.pipeline.handler.stage"]) >= 2
    assert h.handler.errors == {"failed": 2}
    h.handler.errors.clear()


def test_failing_emit_is_logged_and_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="nbtrack.pipeline.handler.stage")
    q = RingQueue(None, 1 << 20)
    mailbox = Mailbox()
    sent: list[Any] = []

    def closed(record: Any, nbytes: int) -> None:
        raise QueueClosed("writer_q")

    handler = Handler(q, closed, lambda r, n: sent.append(r), mailbox.deliver, lambda m: None)
    handler.start()
    q.put(({"a": 1}, None, True, START), 10)
    handle = mailbox.reserve()
    rec = pb.Record(request=pb.Request(flush=pb.FlushRequest()))
    rec.control.mailbox_slot = handle.slot
    q.put(rec, 10)
    assert handle.wait(5.0) is not None
    assert sent and sent[0].WhichOneof("record_type") == "history"  # the sender still got it
    assert any("writer" in r.getMessage() for r in caplog.records)
    q.put_end()
    assert handler.join(5.0)
    assert sent[-1] is END
    assert handler.errors["emit"] >= 2  # the history record and END


# ---------------------------------------------------------------- unknown kinds


def _empty_defer() -> pb.Request:
    request = pb.Request()
    request.defer.state = 99  # type: ignore[assignment]  # not in the enum
    return request


@pytest.mark.parametrize(("item", "why"), [
    (pb.Record(), "no kind"),
    (pb.Record(request=pb.Request()), "request with no kind"),
    (pb.Record(request=_empty_defer()), "defer state 99"),
    (pb.Record(history=pb.HistoryRecord(rows=["{}"])), "only the handler makes"),
    (pb.Record(final=pb.FinalRecord()), "only the handler makes"),
    ({"a": 1}, "type dict"),
])
def test_an_unknown_kind_is_an_error_never_dropped_silently(
    item: Any, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Raised when the handler is driven directly; logged at ERROR and counted by its
    thread, which goes on. A request it cannot route gets no answer (its waiter sees
    no answer in time, not an empty answer it could take for a real one)."""
    caplog.set_level(logging.ERROR, logger="nbtrack.pipeline.handler.stage")
    direct = Harness(start=False)
    with pytest.raises(UnknownRecord, match=why):
        direct.handler.handle(item)
    h = Harness()
    handle = h.mailbox.reserve()
    if isinstance(item, pb.Record):
        item.control.mailbox_slot = handle.slot
    h.q.put(item, 10)
    h.log({"a": 1})
    h.flush()
    assert h.handler.errors == {"unknown": 1}
    assert [r.WhichOneof("record_type") for r in h.records("sender")] == ["history"]
    assert user_rows(h.rows()) == [{"a": 1, "_step": 0}]  # the loop went on
    assert handle.wait(0.05) is None
    assert any(why in r.getMessage() for r in caplog.records)
    h.handler.errors.clear()
    h.close()


def test_rows_alone_hand_out_each_committed_row_once() -> None:
    """The step rules need no thread: Rows is fed log calls and taken from per batch."""
    warnings: list[str] = []
    rows = Rows(warnings.append)
    rows.start(START, 10.0, from_run=True)
    rows.log({"a": 1}, None, True, START + 1)
    rows.log({"b": 2}, 4, False, START + 2)
    batch = rows.take()
    assert batch is not None and batch.steps == [0] and rows.take() is None
    assert json.loads(batch.texts[0]) == {"a": 1, "_step": 0, "_runtime": 11.0,
                                          "_timestamp": START + 1}
    assert batch.nbytes == len(batch.texts[0])
    rows.log({"c": 3}, 2, True, START + 3)
    assert "step 2 is lower than the current step 4" in warnings[0]
    rows.commit_pending()
    batch = rows.take()
    assert batch is not None and batch.rows[0]["b"] == 2 and batch.steps == [4]
    assert (rows.step, rows.rows_total, rows.last_step) == (5, 2, 4)


# ---------------------------------------------------------------- one bad row fails alone


def test_a_row_that_cannot_be_encoded_fails_alone_and_loudly(h: Harness) -> None:
    """The user side refuses these; a publisher that skips it (sync, a bug) must not take
    the rows around it down: the bad row is refused through ``warn``, the others stay.
    Was: a step of 2**63 made the whole batch's HistoryRecord fail (every row in it lost);
    a 5,000-digit int dropped its row silently."""
    h.log({"a": 0})
    h.log({"big": 10**5000})
    h.log({"a": 1})
    h.log({"a": 2}, step=2**63)
    h.log({"a": 3}, step=2**64 + 5)
    h.log({"a": 4})
    h.flush()
    assert user_rows(h.rows()) == [{"a": 0, "_step": 0}, {"a": 1, "_step": 1},
                                   {"a": 4, "_step": 2}]
    assert len(h.warnings) == 3, h.warnings
    assert "big" in h.warnings[0] and "not logged" in h.warnings[0]
    assert all("step" in w and "not logged" in w for w in h.warnings[1:])
    assert h.handler.errors == {}

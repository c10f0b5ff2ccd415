"""Sender: routing, requests answered from counters, defer states, offline, and the replay
mode of the wiring that ``nbtrack sync`` uses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.config import PipelineConfig
from nbtrack.pipeline.stream import Stream
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.wire.files import HISTORY

from helpers.fakewandb import FakeWandb, make_transport
from helpers.senderrig import SenderRig
from helpers.wait import never_within, wait_until

D = pb.DeferRequest


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


# --------------------------------------------------------------------------- records


def run_rec(run_id: str = "r1", *, entity: str = "", slot: str = "", **kw: Any) -> pb.Record:
    r = pb.Record(run=pb.RunRecord(run_id=run_id, project="p", entity=entity, **kw))
    if slot:
        r.control.mailbox_slot = slot
        r.control.req_resp = True
    return r


def hist(first: int, n: int) -> pb.Record:
    rows = [json.dumps({"_step": s, "x": s * 0.5}) for s in range(first, first + n)]
    return pb.Record(history=pb.HistoryRecord(rows=rows, first_step=first, last_step=first + n - 1))


def req(slot: str, **kw: Any) -> pb.Record:
    return pb.Record(control=pb.Control(mailbox_slot=slot, req_resp=True), request=pb.Request(**kw))


def defer(slot: str, state: int) -> pb.Record:
    return req(slot, defer=pb.DeferRequest(state=state))  # type: ignore[arg-type]


class Harness(SenderRig):
    """The shared rig with the unit tests' short intervals and numbered slots."""

    def __init__(self, transport: WandbClient | None, **kw: Any) -> None:
        kw.setdefault("post_interval", 0.05)
        kw.setdefault("config_debounce", 0.05)
        super().__init__(transport, PipelineConfig(**kw))
        self.n = 0

    def slot(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def ask(self, rec: pb.Record, timeout: float = 5.0) -> pb.Result:
        self.put(rec)
        r = self.wait(rec.control.mailbox_slot, timeout)
        assert r is not None, f"no answer to {rec}"
        return r

    def poll(self) -> pb.PollExitResponse:
        return self.ask(req(self.slot(), poll_exit=pb.PollExitRequest())).poll_exit

    def finish(self, exit_code: int = 0, timeout: float = 10.0) -> None:
        self.put(pb.Record(exit=pb.ExitRecord(exit_code=exit_code)))
        for state in range(D.BEGIN, D.FLUSH_FINAL):
            r = self.ask(defer(self.slot(), state), timeout)
            assert r.defer.state == state

    def close(self) -> bool:
        """END ends the sender, which ends its workers."""
        self.q.put_end()
        return all([stage.join(5) for stage in self.stages])


def replay(transport: WandbClient, tmp_path: Path, log: list[pb.Record],
           timeout: float = 10.0) -> bool:
    """What ``nbtrack sync`` does: the log's records through the wiring in replay mode."""
    stream = Stream(PipelineConfig(post_interval=0.05), tmp_path / "replayed.nbtrack", transport,
                    replay=True)
    stream.start()
    for rec in log:
        stream.interface.publish(rec)
    ok = stream.finish_replay(timeout)
    assert stream.close(1.0).clean
    return ok


# --------------------------------------------------------------------------- tests


def test_run_result_resolves_entity_and_url(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    h = Harness(t, stop_poll_interval=0)  # the ops below are the registration's alone
    r = h.ask(run_rec("abc", slot="s-run", display_name="", config_json='{"lr": 0.1}'))
    rr = r.run_result
    assert not rr.HasField("error")
    assert rr.run.entity == "me"
    assert rr.run.url == f"{fake.url}/me/p/runs/abc"
    assert rr.run.display_name == "name-abc"
    assert rr.run.offsets_known and rr.run.starting_step == 0
    assert [op for op, _ in fake.graphql_ops] == ["Viewer", "RunResumeStatus", "UpsertBucket"]
    config = fake.run("me", "p", "abc")["config"]
    assert "cli_version" in config.pop("_wandb")["value"] and config == {"lr": {"value": 0.1}}
    assert h.close()
    t.close()


def test_poll_exit_counters_and_flush_fs_after_complete(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    h = Harness(t)
    h.ask(run_rec("r1", entity="me", slot="s-run"))
    before = h.poll()
    assert not before.done and before.total_bytes == 0
    recs = [hist(0, 50), hist(50, 50)]
    for rec in recs:
        h.put(rec)
    nbytes = sum(len(row) for rec in recs for row in rec.history.rows)
    p = h.poll()
    assert p.total_bytes == nbytes
    assert not p.done
    assert wait_until(lambda: h.poll().pending_lines == 0)
    p = h.poll()
    assert p.uploaded_bytes == p.total_bytes == nbytes
    f = tmp_path / "model.txt"
    f.write_bytes(b"x" * 1000)
    h.put(
        pb.Record(
            files=pb.FilesRecord(files=[pb.FileItem(path=str(f), name="model.txt", policy="end")])
        )
    )
    h.put(pb.Record(summary=pb.SummaryRecord(full_json='{"x": 49.5}')))
    # hold the final post so FLUSH_FS must wait for it
    fake.delay = 0.3
    h.put(pb.Record(exit=pb.ExitRecord(exit_code=0)))
    for state in range(D.BEGIN, D.JOIN_FP):
        assert h.ask(defer(h.slot(), state)).defer.state == state
    slot_fp = h.slot()
    h.put(defer(slot_fp, D.JOIN_FP))
    assert h.wait(slot_fp) is not None
    assert fake.uploads["model.txt"] == b"x" * 1000  # JOIN_FP answered after the upload
    slot_fs = h.slot()
    h.put(defer(slot_fs, D.FLUSH_FS))
    # meanwhile poll_exit is answered at once and not done
    t0 = time.monotonic()
    mid = h.poll()
    assert time.monotonic() - t0 < 0.2
    assert not mid.done
    r = h.wait(slot_fs)
    assert r is not None and r.defer.state == D.FLUSH_FS
    assert fake.posts[-1].get("complete") is True and fake.posts[-1]["exitcode"] == 0
    fake.delay = 0.0
    end = h.poll()
    assert end.done
    assert end.file_counts.total_files == 1 and end.file_counts.uploaded_files == 1
    assert end.uploaded_bytes == end.total_bytes == nbytes + 1000 + len('{"x": 49.5}')
    assert end.pending_lines == 0
    assert end.exit_result.exit_code == 0
    assert fake.run("me", "p", "r1")["summary"] == {"x": 49.5}
    assert h.close()
    t.close()


def test_join_fp_waits_for_uploads(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    h = Harness(t)
    h.ask(run_rec("r2", entity="me", slot="s-run"))
    files = []
    for i in range(3):
        f = tmp_path / f"f{i}.bin"
        f.write_bytes(bytes([i]) * (100 + i))
        files.append(pb.FileItem(path=str(f), name=f"f{i}.bin", policy="now"))
    fake.inject("upload", 503, times=2, retry_after="0.2")
    h.put(pb.Record(files=pb.FilesRecord(files=files)))
    slot = h.slot()
    h.put(defer(slot, D.JOIN_FP))
    r = h.wait(slot)
    assert r is not None
    assert sorted(fake.uploads) == ["f0.bin", "f1.bin", "f2.bin"]
    p = h.poll()
    assert p.file_counts.uploaded_files == 3 and p.file_counts.total_files == 3
    assert p.uploaded_bytes == p.total_bytes == 303
    assert h.close()
    t.close()


def test_config_debounced_with_metrics(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    h = Harness(t, config_debounce=0.3)
    h.ask(run_rec("r3", entity="me", slot="s-run", config_json='{"a": 1}'))
    n0 = len(fake.run("me", "p", "r3")["upserts"])
    for i in range(10):
        h.put(pb.Record(config=pb.ConfigRecord(full_json=json.dumps({"a": 1, "b": i}))))
    h.put(pb.Record(metric=pb.MetricRecord(name="loss", summary=["min"], goal="minimize")))

    def upserts() -> int:
        return len(fake.run("me", "p", "r3")["upserts"])

    assert never_within(lambda: upserts() > n0, 0.1)  # not yet: debounced
    assert wait_until(lambda: upserts() == n0 + 1)
    assert never_within(lambda: upserts() > n0 + 1, 0.4)  # one upsert for 11 changes
    cfg = fake.run("me", "p", "r3")["config"]
    assert cfg["a"] == {"value": 1} and cfg["b"] == {"value": 9}
    # W&B's encoding: {"1": name, "6": options (3 = defined), "7": summary (1 = min), "8": goal}
    assert cfg["_wandb"]["value"]["m"] == [{"1": "loss", "6": [3], "7": [1], "8": 1}]
    # FLUSH_DEBOUNCER pushes at once
    h.put(pb.Record(config=pb.ConfigRecord(full_json='{"a": 2}')))
    h.ask(defer(h.slot(), D.FLUSH_DEBOUNCER))
    h.finish(0)
    assert fake.run("me", "p", "r3")["config"]["a"] == {"value": 2}
    assert h.close()
    t.close()


def test_network_status_while_retrying(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    h = Harness(t)
    h.ask(run_rec("r4", entity="me", slot="s-run"))
    fake.inject("file_stream", 503, times=1000, retry_after="0.05")
    h.put(hist(0, 10))

    def status() -> pb.NetworkStatusResponse:
        return h.ask(req(h.slot(), network_status=pb.NetworkStatusRequest())).network_status

    assert wait_until(lambda: status().state == "retrying")
    s = status()
    assert s.last_status_code == 503 and s.retry_count >= 1 and s.since > 0
    assert s.pending_bytes > 0
    with fake.lock:
        fake.failures.clear()
    assert wait_until(lambda: status().state == "ok")
    h.finish(0)
    assert fake.lines("me", "p", "r4", HISTORY) == list(hist(0, 10).history.rows)
    assert h.close()
    t.close()


def test_offline_answers_everything_at_once(tmp_path: Path) -> None:
    h = Harness(None)
    r = h.ask(run_rec("off", slot="s-run"))
    assert r.run_result.run.run_id == "off" and not r.run_result.HasField("error")
    h.put(hist(0, 100))
    h.put(pb.Record(summary=pb.SummaryRecord(full_json="{}")))
    h.put(pb.Record(config=pb.ConfigRecord(full_json='{"a": 1}')))
    h.put(pb.Record(files=pb.FilesRecord(files=[pb.FileItem(path=str(tmp_path), name="x")])))
    assert h.poll().done
    ns = h.ask(req(h.slot(), network_status=pb.NetworkStatusRequest())).network_status
    assert ns.state == "offline"
    t0 = time.monotonic()
    h.finish(3, timeout=1.0)
    assert time.monotonic() - t0 < 1.0
    p = h.poll()
    assert p.done and p.exit_result.exit_code == 3
    assert h.close()


def test_replay_marks_crashed_without_exit(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    f = tmp_path / "notes.txt"
    f.write_text("hi")
    first = run_rec("rp", config_json='{"lr": 1}')
    known = run_rec("rp", offsets_known=True, history_line_offset=0)
    log = [
        first,
        known,
        pb.Record(config=pb.ConfigRecord(full_json='{"lr": 2}')),
        hist(0, 500),
        pb.Record(stats=pb.StatsRecord(row_json='{"cpu": 3}')),
        pb.Record(output=pb.OutputRecord(line="hello", timestamp=1.7e9)),
        hist(500, 500),
        pb.Record(summary=pb.SummaryRecord(full_json='{"x": 499.5}')),
        pb.Record(
            files=pb.FilesRecord(files=[pb.FileItem(path=str(f), name="notes.txt", policy="end")])
        ),
    ]
    assert replay(t, tmp_path, log)
    run = fake.run("me", "p", "rp")
    assert run["state"] == "crashed"
    assert not run["complete"]
    assert len(fake.lines("me", "p", "rp", HISTORY)) == 1000
    assert fake.lines("me", "p", "rp", HISTORY)[-1] == hist(500, 500).history.rows[-1]
    assert run["summary"] == {"x": 499.5}
    assert run["config"]["lr"] == {"value": 2}
    assert fake.uploads["notes.txt"] == b"hi"
    assert all(op != "RunResumeStatus" for op, _ in fake.graphql_ops)
    assert all("complete" not in p for p in fake.posts)
    t.close()


def test_replay_completes_with_exit_code(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    # a resumed run synced later: offsets come from the log, not from the server
    assert replay(t, tmp_path, [
        run_rec("rq", entity="me", slot="s1"),  # nobody waits for a replayed record's answer
        run_rec("rq", entity="me", offsets_known=True, history_line_offset=30),
        hist(30, 20),
        pb.Record(exit=pb.ExitRecord(exit_code=2)),
    ])
    run = fake.run("me", "p", "rq")
    assert run["complete"] and run["exitcode"] == 2 and run["state"] == "failed"
    assert sorted(run["files"][HISTORY]) == list(range(30, 50))
    t.close()


def test_replay_false_when_server_refuses(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    fake.inject("file_stream", 400)
    log = [run_rec("rz", entity="me"), hist(0, 5), pb.Record(exit=pb.ExitRecord())]
    assert replay(t, tmp_path, log) is False
    t.close()


def test_replay_false_when_the_deadline_passes(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    fake.inject("file_stream", 503, times=10_000, retry_after="30")
    t0 = time.monotonic()
    log = [run_rec("ry", entity="me"), hist(0, 5), pb.Record(exit=pb.ExitRecord())]
    assert replay(t, tmp_path, log, timeout=1.0) is False
    assert time.monotonic() - t0 < 5.0
    assert t.closed  # given up: the log keeps the rows for the next sync


def test_flush_fs_answered_when_transport_closed(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    h = Harness(t)
    h.ask(run_rec("rc", entity="me", slot="s-run"))
    fake.inject("file_stream", 503, times=10_000, retry_after="30")
    h.put(hist(0, 10))
    h.put(pb.Record(exit=pb.ExitRecord(exit_code=0)))
    slot = h.slot()
    h.put(defer(slot, D.FLUSH_FS))
    assert h.wait(slot, 0.5) is None  # stuck retrying
    t.close()
    r = h.wait(slot, 2.0)
    assert r is not None and r.defer.state == D.FLUSH_FS
    p = h.poll()
    assert p.pending_lines == 10  # not acknowledged: they stay in the transaction log
    assert h.close()


def test_run_error_answered(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    fake.inject("graphql", 403)
    h = Harness(t)
    r = h.ask(run_rec("bad", entity="me", slot="s-run"))
    assert r.run_result.error.code == pb.ErrorInfo.AUTHENTICATION
    assert "403" in r.run_result.error.message
    # everything after is still answered
    h.put(hist(0, 3))
    h.finish(0)
    assert h.close()
    t.close()

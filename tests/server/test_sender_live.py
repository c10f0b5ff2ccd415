"""The Sender against the real nbtrack server: a whole run, read back exactly; resume; replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.config import PipelineConfig
from nbtrack.pipeline.stream import Stream
from nbtrack.proto import nbtrack_pb2 as pb

from helpers.senderrig import SenderRig

D = pb.DeferRequest


class Pipe(SenderRig):
    """The shared rig against nbtrack's own server, with its own W&B client."""

    def __init__(self, server: Any) -> None:
        self.t = WandbClient(server.url, server.token)
        super().__init__(self.t, PipelineConfig(post_interval=0.1, config_debounce=0.1))
        self.n = 0

    def ask(self, rec: pb.Record, timeout: float = 20.0) -> pb.Result:
        self.n += 1
        slot = f"s{self.n}"
        rec.control.mailbox_slot = slot
        rec.control.req_resp = True
        self.put(rec)
        r = self.wait(slot, timeout)
        assert r is not None, rec
        return r

    def start_run(self, run: pb.RunRecord) -> pb.RunRecord:
        rr = self.ask(pb.Record(run=run)).run_result
        assert not rr.HasField("error"), rr.error
        known = pb.RunRecord()
        known.CopyFrom(rr.run)
        self.put(pb.Record(run=known))  # re-published with offsets_known, as init does
        return rr.run

    def finish(self, exit_code: int = 0) -> pb.PollExitResponse:
        self.put(pb.Record(exit=pb.ExitRecord(exit_code=exit_code)))
        for state in range(D.BEGIN, D.FLUSH_FINAL):
            r = self.ask(pb.Record(request=pb.Request(defer=pb.DeferRequest(state=state))))  # type: ignore[arg-type]
            assert r.defer.state == state
        p = self.ask(pb.Record(request=pb.Request(poll_exit=pb.PollExitRequest())))
        self.q.put_end()
        assert all([stage.join(10) for stage in self.stages])
        self.t.close()
        return p.poll_exit


def rows(first: int, n: int) -> pb.Record:
    out = [
        json.dumps(
            {
                "_step": s,
                "_runtime": s * 0.01,
                "_timestamp": 1.7e9 + s,
                "loss": 1 / (s + 1),
                "acc": s / 10_000,
                "name": f"r{s}",
            }
        )
        for s in range(first, first + n)
    ]
    return pb.Record(history=pb.HistoryRecord(rows=out, first_step=first, last_step=first + n - 1))


def api(server: Any, path: str, **params: Any) -> Any:
    r = requests.get(
        f"{server.url}/api/v1/{path}", params=params, auth=("api", server.token), timeout=30
    )
    r.raise_for_status()
    return r.json()


def test_whole_run_read_back_exactly(live_server: Any, tmp_path: Path) -> None:
    p = Pipe(live_server)
    run = p.start_run(
        pb.RunRecord(
            run_id="live1",
            project="sender",
            display_name="first",
            config_json=json.dumps({"lr": 0.01}),
            tags=["a", "b"],
        )
    )
    assert run.entity  # resolved through viewer
    assert run.url == f"{live_server.url}/{run.entity}/sender/runs/live1"
    sent: list[str] = []
    for first in range(0, 5_000, 250):
        rec = rows(first, 250)
        sent.extend(rec.history.rows)
        p.put(rec)
    p.put(pb.Record(config=pb.ConfigRecord(full_json=json.dumps({"lr": 0.02, "layers": [1, 2]}))))
    p.put(pb.Record(metric=pb.MetricRecord(name="loss", summary=["min"], goal="minimize")))
    summary = {"loss": 1 / 5000, "acc": 0.4999, "name": "r4999", "_step": 4999}
    p.put(pb.Record(summary=pb.SummaryRecord(full_json=json.dumps(summary))))
    f = tmp_path / "weights.bin"
    f.write_bytes(bytes(range(256)) * 40)
    p.put(
        pb.Record(
            files=pb.FilesRecord(files=[pb.FileItem(path=str(f), name="weights.bin", policy="end")])
        )
    )
    done = p.finish(0)
    assert done.done and done.pending_lines == 0
    assert done.uploaded_bytes == done.total_bytes
    assert done.file_counts.uploaded_files == done.file_counts.total_files == 1

    base = f"runs/{run.entity}/sender/live1"
    info = api(live_server, base)
    assert info["state"] == "finished" and info["exit_code"] == 0
    assert info["history_line_count"] == 5_000 and info["last_step"] == 4_999
    assert info["config"]["lr"] == 0.02 and info["config"]["layers"] == [1, 2]
    assert info["summary"]["loss"] == summary["loss"] and info["summary"]["name"] == "r4999"
    assert info["name"] == "first"
    hist = api(live_server, base + "/history")["rows"]
    assert hist == [json.loads(r) for r in sent]
    got = requests.get(
        f"{live_server.url}/api/v1/{base}/files/weights.bin",
        auth=("api", live_server.token),
        timeout=30,
    )
    assert got.status_code == 200 and got.content == f.read_bytes()


def test_resume_continues_offsets(live_server: Any) -> None:
    p = Pipe(live_server)
    run = p.start_run(pb.RunRecord(run_id="live2", project="sender"))
    p.put(rows(0, 300))
    p.put(pb.Record(summary=pb.SummaryRecord(full_json=json.dumps({"_runtime": 42.0, "loss": 1}))))
    p.put(pb.Record(output=pb.OutputRecord(line="hello", timestamp=1.7e9)))
    p.finish(1)
    base = f"runs/{run.entity}/sender/live2"
    assert api(live_server, base)["state"] == "failed"

    p2 = Pipe(live_server)
    again = p2.start_run(pb.RunRecord(run_id="live2", project="sender", resume="allow"))
    assert again.resumed and again.starting_step == 300
    assert again.history_line_offset == 300 and again.output_line_offset == 1
    assert again.runtime_offset == 42.0
    p2.put(rows(300, 200))
    p2.finish(0)
    info = api(live_server, base)
    assert info["state"] == "finished" and info["history_line_count"] == 500
    steps = [r["_step"] for r in api(live_server, base + "/history")["rows"]]
    assert steps == list(range(500))


def test_replay_twice_adds_nothing_and_marks_crashed(live_server: Any, tmp_path: Path) -> None:
    log = [pb.Record(run=pb.RunRecord(run_id="live3", project="sender"))]
    log += [rows(i, 100) for i in range(0, 1_000, 100)]
    for i in range(2):
        t = WandbClient(live_server.url, live_server.token)
        stream = Stream(PipelineConfig(), tmp_path / f"replay{i}.nbtrack", t, replay=True)
        stream.start()
        for rec in log:
            stream.interface.publish(rec)
        assert stream.finish_replay(30)
        t.close()
    entity = api(live_server, "viewer")["entity"]
    info = api(live_server, f"runs/{entity}/sender/live3")
    assert info["state"] == "crashed"
    assert info["history_line_count"] == 1_000

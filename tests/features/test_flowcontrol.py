"""Flow control: 1,000,000 rows with the server down for the first half.

The file-stream poster keeps at most NBTRACK_MAX_PENDING_MB of unsent lines in memory and
reads the rest back from the transaction log, so log() never waits for the network
and the process's memory stays bounded; every row reaches the server exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from nbtrack.pipeline.sender.flowcontrol import LogTail, read_back, record_lines
from nbtrack.pipeline.sender.linebuffer import LineBuffer
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.txlog import LogWriter

ROWS = 1_000_000
SCRIPT = Path(__file__).parent / "scripts" / "flow_million.py"


def test_log_tail_reads_while_the_writer_appends(tmp_path: Path) -> None:
    path = tmp_path / "run.nbtrack"
    w = LogWriter(path)
    tail = LogTail(path)
    big = "x" * 70_000  # spans blocks: FIRST / MIDDLE / LAST chunks
    for n in range(1, 4):
        w.append(pb.Record(num=n, history=pb.HistoryRecord(rows=[big, str(n)])).SerializeToString())
    assert list(tail.records()) == []  # nothing flushed yet
    w.flush()
    got = []
    for rec, end in tail.records():
        got.append(rec.num)
        tail.offset = end
    assert got == [1, 2, 3]
    w.append(pb.Record(num=4).SerializeToString())
    w.flush()
    assert [r.num for r, _ in tail.records()] == [4]
    w.close()


def _spill(tmp_path: Path, records: list[pb.Record], max_held_bytes: int,
           max_post_bytes: int) -> dict[str, list[str]]:
    """Feed records to a LineBuffer as the poster does, writing each to a real log, then post
    everything back: refills read through ``read_back`` from the log. Returns lines per file."""
    path = tmp_path / "run.nbtrack"
    w = LogWriter(path)
    tail = LogTail(path)
    buf = LineBuffer(max_held_bytes=max_held_bytes, max_post_bytes=max_post_bytes,
                     can_spill=True)
    for rec in records:
        w.append(rec.SerializeToString())
        found = record_lines(rec)
        assert found is not None
        name, lines = found
        nbytes = sum(map(len, lines))
        if not buf.leave_in_log(rec.num, len(lines), nbytes):
            buf.add(name, lines, nbytes)
        assert buf.held_bytes <= max_held_bytes + max(map(len, lines))
    w.flush()
    assert buf.spills == 1
    got: dict[str, list[str]] = {}
    while buf.has_pending:
        want = buf.refill_range()
        if want is not None:
            buf.refilled(*read_back(tail, want))
        batch = buf.take()
        for name, f in batch.files.items():
            got.setdefault(name, []).extend(f["content"])
        buf.acknowledged(batch)
    assert buf.pending_lines == 0 and buf.acked_bytes == buf.total_bytes
    w.close()
    return got


def test_spill_then_refill_in_order(tmp_path: Path) -> None:
    records = [pb.Record(num=n, history=pb.HistoryRecord(rows=[json.dumps({"_step": n})]))
               for n in range(1, 11)]
    got = _spill(tmp_path, records, max_held_bytes=100, max_post_bytes=60)
    assert [json.loads(r)["_step"] for r in got["wandb-history.jsonl"]] == list(range(1, 11))


def test_spill_keeps_every_file_in_order(tmp_path: Path) -> None:
    """History, system-metric and console lines all spill and come back in order."""
    records = []
    for n in range(1, 31):
        rec = pb.Record(num=n)
        if n % 3 == 0:
            rec.stats.row_json = json.dumps({"n": n})
        elif n % 3 == 1:
            rec.output.line = f"out {n}"
            rec.output.timestamp = 1_700_000_000.0
        else:
            rec.history.rows.append(json.dumps({"_step": n}))
        records.append(rec)
    got = _spill(tmp_path, records, max_held_bytes=200, max_post_bytes=80)
    assert [json.loads(r)["_step"] for r in got["wandb-history.jsonl"]] == \
        [n for n in range(1, 31) if n % 3 == 2]
    assert [json.loads(r)["n"] for r in got["wandb-events.jsonl"]] == list(range(3, 31, 3))
    assert [line.split(" ", 1)[1] for line in got["output.log"]] == \
        [f"out {n}" for n in range(1, 31, 3)]


@pytest.mark.timeout(900)
def test_million_rows_server_down_for_the_first_half(tmp_path: Path) -> None:
    env = {**os.environ, "NBTRACK_DIR": str(tmp_path / "home"), "NBTRACK_MAX_PENDING_MB": "16",
           "NBTRACK_STATS_INTERVAL": "1", "NBTRACK_CAPTURE_ENV": "off"}
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(tmp_path), str(ROWS)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, "the child failed"
        result = json.loads(line)
        (tmp_path / "result.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result))
        assert result["state"] == "finished"
        assert result["spills_while_down"] >= 1
        # bounded: the log holds ~250 MB of rows; the process stays far below it
        assert result["peak_rss_mb"] < 400, result
        r = requests.get(f"{result['url']}/api/v1/runs/{result['path']}/history",
                         params={"keys": "i"}, auth=("api", result["token"]), timeout=600)
        rows = r.json()["rows"]
        assert len(rows) == ROWS
        assert all(row["_step"] == n and row["i"] == n for n, row in enumerate(rows))
        auth = ("api", result["token"])
        base = f"{result['url']}/api/v1/runs/{result['path']}"
        out = requests.get(f"{base}/output", auth=auth, timeout=60).json()["lines"]
        assert [line.split(" ", 2)[-1] for line in out] == [f"row {i}" for i in
                                                            range(0, ROWS, 50_000)]
        events = requests.get(f"{base}/events", auth=auth, timeout=60).json()["rows"]
        runtimes = [e["_runtime"] for e in events]
        # every system sample taken, across the outage, arrived once and in order
        assert result["system_samples"] >= 3
        assert len(events) == result["system_samples"] and runtimes == sorted(runtimes)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(60)

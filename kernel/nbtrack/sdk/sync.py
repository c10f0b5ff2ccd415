"""``nbtrack sync``: replay a transaction log to a server.

The log goes through the same wiring as a live run, in its replay mode: the
records are published straight to the sender (the log is already written and
handled), then the sender's finish states are walked as at the end of a run.
File-stream lines carry the same offsets as the first time, so syncing twice adds
nothing.
"""

from __future__ import annotations

import collections
import logging
from dataclasses import dataclass, field
from pathlib import Path

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.recovery import Recovery, complete_log
from nbtrack.pipeline.stream import Stream
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.sdk.runstream import pipeline_config
from nbtrack.settings import read_tuning
from nbtrack.txlog import LogReader, ReadReport

logger = logging.getLogger("nbtrack.sdk.sync")


@dataclass
class SyncResult:
    path: Path
    ok: bool
    run_path: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    read: ReadReport | None = None
    error: str = ""
    recovery: Recovery | None = None  # what the write-ahead ring added to the log first


def sync_log(path: Path, transport: WandbClient, timeout: float = 120.0) -> SyncResult:
    """Send every record of ``path``; ok only when the server acknowledged everything.

    First the log is completed from its write-ahead ring, if a killed process left one.
    """
    recovery = complete_log(path)
    if recovery.found:
        logger.info("%s", recovery.summary())
    reader = LogReader(path)
    stream = Stream(pipeline_config(read_tuning()), path, transport, replay=True)
    stream.start()
    counts: collections.Counter[str] = collections.Counter()
    run_path = ""
    try:
        for payload in reader:
            try:
                record = pb.Record.FromString(payload)
            except Exception:
                counts["unreadable"] += 1
                continue
            kind = record.WhichOneof("record_type") or "empty"
            if kind == "request":
                continue
            if kind == "run":
                run_path = f"{record.run.entity}/{record.run.project}/{record.run.run_id}"
            counts[kind] += 1
            if kind == "history":
                counts["history_rows"] += len(record.history.rows)
            stream.interface.publish(record)
        ok = stream.finish_replay(timeout)
    except Exception as exc:  # a CLI boundary: report, don't trace
        logger.exception("sync of %s failed", path)
        return SyncResult(path, False, run_path, dict(counts), reader.report, str(exc),
                          recovery)
    finally:
        stream.close(1.0)
    return SyncResult(path, ok, run_path, dict(counts), reader.report,
                      "" if ok else "the server did not acknowledge everything", recovery)


def find_logs(paths: list[Path]) -> list[Path]:
    """Expand run directories into their ``*.nbtrack`` logs."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(p.rglob("*.nbtrack")))
        else:
            found.append(p)
    return found

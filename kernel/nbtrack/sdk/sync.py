"""``nbtrack sync``: replay a transaction log to a server.

The log goes through the same wiring as a live run, in its replay mode: the
records are published straight to the sender (the log is already written and
handled), then the sender's finish states are walked as at the end of a run.
File-stream lines carry the same offsets as the first time, so syncing twice adds
nothing. A damaged block of the log is skipped: the lines after it keep their own
offsets (``line_start``), so the gap stays a gap, and ``damage`` says which rows and
steps it held (:mod:`nbtrack.sdk.syncgaps`). A log whose run record cannot be read uses
the copy beside it (:mod:`nbtrack.txlog.identity`).
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.recovery import Recovery, complete_log
from nbtrack.pipeline.stream import Stream
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.sdk.runstream import pipeline_config
from nbtrack.sdk.syncgaps import GapTracker
from nbtrack.settings import read_tuning
from nbtrack.txlog import Damage, LogReader, ReadReport
from nbtrack.txlog.identity import mark_delivered, read_identity, sidecar_path

logger = logging.getLogger("nbtrack.sdk.sync")


@dataclass
class SyncResult:
    path: Path
    ok: bool
    run_path: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    read: ReadReport | None = None
    error: str = ""
    damage: list[str] = field(default_factory=list)  # what damaged regions held, one line each
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
    gaps = GapTracker()
    unparsed: list[Damage] = []
    notes: list[str] = []
    run_path = ""
    tried_sidecar = False
    fallback = (f"the log's run record could not be read: the run's identity came from "
                f"{sidecar_path(path).name}")

    def publish_run(run: pb.RunRecord) -> None:
        nonlocal run_path
        run_path = f"{run.entity}/{run.project}/{run.run_id}"
        gaps.start(run)
        counts["run"] += 1
        stream.interface.publish(pb.Record(run=run))

    try:
        for offset, payload in reader.iter_with_offsets():
            try:
                record = pb.Record.FromString(payload)
            except Exception as exc:
                counts["unreadable"] += 1
                unparsed.append(Damage(offset, len(payload), f"record does not parse: {exc}"))
                continue
            kind = record.WhichOneof("record_type") or "empty"
            if kind == "request":
                continue
            if kind == "run":
                publish_run(record.run)
                continue
            if not run_path and not tried_sidecar:
                tried_sidecar = True
                if _fall_back_on_sidecar(path, publish_run):
                    notes.append(fallback)
            gaps.see(offset, record)
            counts[kind] += 1
            if kind == "history":
                counts["history_rows"] += len(record.history.rows)
            stream.interface.publish(record)
        if not run_path and not tried_sidecar and _fall_back_on_sidecar(path, publish_run):
            notes.append(fallback)
        if not run_path and counts:
            # lines with nowhere to go: say so now rather than wait out the timeout
            return SyncResult(path, False, "", dict(counts), reader.report,
                              "the log holds no readable run record and has no "
                              f"{sidecar_path(path).name} beside it: nothing to sync to")
        ok = stream.finish_replay(timeout)
    except Exception as exc:  # a CLI boundary: report, don't trace
        logger.exception("sync of %s failed", path)
        return SyncResult(path, False, run_path, dict(counts), reader.report, str(exc),
                          recovery=recovery)
    finally:
        stream.close(1.0)
    damaged = sorted([*reader.report.damaged, *unparsed], key=lambda d: d.offset)
    damage = notes + gaps.describe(damaged)
    if ok:
        try:
            mark_delivered(path)
        except OSError:
            logger.warning("could not mark %s as delivered", path, exc_info=True)
    return SyncResult(path, ok, run_path, dict(counts), reader.report,
                      "" if ok else "the server did not acknowledge everything", damage,
                      recovery)


def _fall_back_on_sidecar(path: Path, publish_run: Callable[[pb.RunRecord], None]) -> bool:
    """No run record before the first line: publish the copy beside the log, if any."""
    found = read_identity(path)
    if found is None:
        return False
    publish_run(found[0])
    return True


def find_logs(paths: list[Path]) -> list[Path]:
    """Expand run directories into their ``*.nbtrack`` logs."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(p.rglob("*.nbtrack")))
        else:
            found.append(p)
    return found

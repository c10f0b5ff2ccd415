"""Before a run is resumed: send what its earlier local logs hold and the server lacks.

A crashed kernel's log may hold rows the server never got. Resumed first, the new rows
would take those rows' offsets and the old rows, synced later, would be ignored as
already stored. So ``init(id=X, resume=...)`` syncs every local log of run X whose
sidecar (:mod:`nbtrack.txlog.identity`) does not say it was delivered, and says so; the
run then continues after every old row. Called with the run's lock held
(:mod:`nbtrack.sdk.runclaim`), so no live kernel still writes those logs.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

from nbtrack.client.wandbclient import WandbClient
from nbtrack.txlog.identity import read_identity

SYNC_TIMEOUT = 300.0


class EarlierLogNotSynced(RuntimeError):
    """An earlier log of the run could not be sent; the message has the command."""


def local_logs(runs_root: Path, run_id: str) -> list[Path]:
    """Every log of ``run_id`` under ``runs_root`` (``run-<time>-<id>[-n]/run-<id>.nbtrack``)."""
    rid = glob.escape(run_id)
    return sorted(runs_root.glob(f"run-*-{rid}*/run-{rid}.nbtrack"))


def undelivered_logs(runs_root: Path, run_id: str) -> list[Path]:
    """Local logs of ``run_id`` not marked delivered, oldest first."""
    out = []
    for log in local_logs(runs_root, run_id):
        ident = read_identity(log)
        if ident is not None and ident[1]:
            continue
        out.append(log)
    return out


def sync_earlier_logs(runs_root: Path, run_id: str, url: str, key: str) -> int:
    """Sync each undelivered log of ``run_id``; the number synced. Raises
    :class:`EarlierLogNotSynced` when one could not be sent completely."""
    from nbtrack.sdk.sync import sync_log

    logs = undelivered_logs(runs_root, run_id)
    for log in logs:
        print(f"nbtrack: syncing an earlier log of run {run_id} before resuming it: {log}",
              file=sys.stderr)
        transport = WandbClient(url, key)
        try:
            result = sync_log(log, transport, timeout=SYNC_TIMEOUT)
        finally:
            transport.close()
        if not result.ok:
            raise EarlierLogNotSynced(
                f"nbtrack: run {run_id} has an earlier log the server does not fully hold "
                f"({log}: {result.error}); resuming now would put new rows where its rows "
                f"belong. Send it with:\n    nbtrack sync {log}\nthen resume again.")
        rows = result.counts.get("history_rows", 0)
        print(f"nbtrack: sent {rows} history rows of {log.name}; run {run_id} resumes after "
              "them", file=sys.stderr)
        for line in result.damage:
            print(f"  damaged log: {line}", file=sys.stderr)
    return len(logs)

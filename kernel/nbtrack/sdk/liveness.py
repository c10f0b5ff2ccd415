"""Is the run this ``init`` would write to live elsewhere right now?

The per-machine lock (:mod:`nbtrack.sdk.runclaim`) cannot see a kernel that uses another
NBTRACK_DIR or another machine. The server can: a ``running`` run whose heartbeat is
fresher than :data:`LIVE_WINDOW` has a writer posting to it (a live run posts at least
every 15 s). Unless that writer is known to be dead — a log of the run under this run's
runs directory written on this host by a process that no longer runs (a crashed kernel,
the case resume exists for) — ``init`` is refused, naming the run and when the server
last heard from it. The official wandb client is untouched: nothing changes on the server.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import datetime
from pathlib import Path

from nbtrack.client import gql
from nbtrack.client.errors import TransportError
from nbtrack.client.wandbclient import WandbClient
from nbtrack.sdk.earlierlogs import local_logs
from nbtrack.txlog.identity import writer_of
from nbtrack.wire.statefile import pid_alive

logger = logging.getLogger("nbtrack.sdk.liveness")

# why: a live run posts at least every heartbeat_interval (15 s); three of them missed
# and the writer is gone or cut off (the server itself calls it crashed after 120 s)
LIVE_WINDOW = 45.0


class RunLive(RuntimeError):
    """The run is being written by another process; the message says which and how."""


def check_not_live(transport: WandbClient, *, entity: str, project: str, run_id: str,
                   runs_root: Path) -> None:
    """Raise :class:`RunLive` when the server shows the run live and it is not ours."""
    try:
        data = transport.graphql(gql.RUN_LIVENESS, {"project": project or None,
                                                    "entity": entity or None, "name": run_id})
    except TransportError as exc:  # the registrar meets the same trouble and says so
        logger.info("liveness of run %s not checked: %s", run_id, exc)
        return
    bucket = ((data.get("model") or {}).get("bucket")) or {}
    if bucket.get("state") != "running":
        return
    age = _age(bucket.get("heartbeatAt"))
    if age is None or age > LIVE_WINDOW:
        return
    writers = [writer_of(p) for p in local_logs(runs_root, run_id)]
    here = socket.gethostname()
    alive = [w for w in writers if w.get("host") == here and _alive(w.get("pid"))]
    dead = [w for w in writers if w.get("host") == here and not _alive(w.get("pid"))]
    if dead and not alive:
        return  # a crashed kernel of this machine posted last: resuming it is the point
    who = (f"pid {alive[0]['pid']} on {here}" if alive
           else "a process this machine's nbtrack does not know")
    raise RunLive(
        f"nbtrack: run {run_id} is live on the server: its last heartbeat was {age:.0f}s "
        f"ago, from {who}. Two processes logging to one run would overwrite each other's "
        f"rows. Finish it there first (or wait {LIVE_WINDOW:.0f}s after it died), or use "
        "another id.")


def _age(heartbeat: object) -> float | None:
    if not isinstance(heartbeat, str) or not heartbeat:
        return None
    try:
        when = datetime.fromisoformat(heartbeat.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(time.time() - when.timestamp(), 0.0)


def _alive(pid: object) -> bool:
    if pid == os.getpid():
        return False  # this process holds the run's lock now: its earlier run ended
    return pid_alive(pid)

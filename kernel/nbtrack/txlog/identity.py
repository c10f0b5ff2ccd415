"""The run's identity next to its log: ``run-<id>.nbtrack.run`` (JSON, mode 0600).

The log's run record sits in its first block; one flipped byte there would leave
``nbtrack sync`` without a run to create. The SDK writes this small copy once the server
answered (the run as registered, with its offsets), and ``sync`` falls back on it when the
log's own run record cannot be read. ``delivered`` is set once the server acknowledged
every line of the log (a finished run, a successful sync), so ``init`` knows which
earlier logs of a resumed run still need syncing.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from nbtrack.proto import nbtrack_pb2 as pb

SUFFIX = ".run"


def sidecar_path(log_path: Path) -> Path:
    return log_path.with_name(log_path.name + SUFFIX)


def write_identity(log_path: Path, run: pb.RunRecord, *, delivered: bool = False) -> None:
    """Write (atomically, 0600) the run record that ``sync`` falls back on."""
    target = sidecar_path(log_path)
    body = {"run": json_format.MessageToDict(run), "delivered": delivered,
            "pid": os.getpid(), "host": socket.gethostname()}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(body).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)


def read_identity(log_path: Path) -> tuple[pb.RunRecord, bool] | None:
    """(the run record, delivered), or None when there is no readable sidecar."""
    try:
        body = json.loads(sidecar_path(log_path).read_text(encoding="utf-8"))
        run = json_format.ParseDict(body["run"], pb.RunRecord())
    except (OSError, ValueError, KeyError, TypeError, json_format.ParseError):
        return None
    return run, bool(body.get("delivered"))


def writer_of(log_path: Path) -> dict[str, Any]:
    """``{"pid", "host"}`` of the process that wrote the log (``{}`` when unknown)."""
    try:
        body = json.loads(sidecar_path(log_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(body, dict):
        return {}
    return {k: body[k] for k in ("pid", "host") if k in body}


def mark_delivered(log_path: Path) -> None:
    """The server holds every line of the log: say so in the sidecar (when there is one)."""
    found = read_identity(log_path)
    if found is not None and not found[1]:
        write_identity(log_path, found[0], delivered=True)

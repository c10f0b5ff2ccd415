"""The state file through which kernels and Jupyter find the local server.

``<root>/server/state.json`` (:func:`path`) holds ``pid``, ``host``, ``port``, ``url``,
``token`` (the server's admin key), ``version`` and ``started``. The server writes it
atomically (temp file + ``os.replace``) with mode 0600 because it holds the token, and
removes it at shutdown only while it still describes itself. A reader trusts it only while
its pid is alive (:func:`pid_alive`) and the server answers (:mod:`nbtrack.wire.discovery`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nbtrack.wire import datadir

NAME = "state.json"


def path(root: Path) -> Path:
    """Where the state file of ``root``'s local server is."""
    return datadir.server_dir(root) / NAME


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file at once, readable by its owner only (it holds the token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(state, indent=1).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_state(path: Path) -> dict[str, Any] | None:
    """The state, or None when missing or unreadable (a half-written file never shows)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_if_own(path: Path, pid: int, token: str) -> bool:
    """Remove the state file only if it still describes this server."""
    state = read_state(path)
    if state is None or state.get("pid") != pid or state.get("token") != token:
        return False
    try:
        path.unlink()
    except OSError:
        return False
    return True


def pid_alive(pid: Any) -> bool:
    """True when ``pid`` (a positive int) names a live process, ours or another user's; a
    zombie (exited, not yet reaped) is not alive."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie still answers kill(0)
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True

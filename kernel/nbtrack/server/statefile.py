"""The state file through which kernels find a running server (port, pid, token).

Written atomically (temp file + ``os.replace``) with mode 0600 because it holds the token.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_state(path: Path, state: dict[str, Any]) -> None:
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

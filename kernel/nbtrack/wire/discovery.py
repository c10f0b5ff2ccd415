"""How a kernel, the CLI or the Jupyter extension finds the tracking server.

A server named by the environment (``NBTRACK_BASE_URL``, with ``NBTRACK_API_KEY``) comes
first; else the local server of the data directory, trusted only when the pid in its state
file is alive and ``GET /healthz`` answers with that same pid (a stale file from a crashed
server, or a port reused by another program, is never taken for a server).
"""

from __future__ import annotations

import http.client
import json
import os
from dataclasses import dataclass
from typing import Any

from nbtrack.wire import statefile, urls

ENV_BASE_URL = "NBTRACK_BASE_URL"
ENV_API_KEY = "NBTRACK_API_KEY"


@dataclass(frozen=True)
class ServerInfo:
    """A live local server: where it listens, its admin key and its pid."""

    url: str
    token: str
    pid: int


def from_environment() -> tuple[str, str] | None:
    """``(url without a trailing slash, key or "")`` of the server the environment names."""
    url = os.environ.get(ENV_BASE_URL)
    if not url:
        return None
    return url.rstrip("/"), os.environ.get(ENV_API_KEY, "")


def healthy(url: str, pid: int, timeout: float = 1.0) -> bool:
    """``GET /healthz`` answers and names the expected pid."""
    host_port = url.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=timeout)
    try:
        conn.request("GET", urls.HEALTHZ)
        resp = conn.getresponse()
        body = json.loads(resp.read() or b"{}")
        return resp.status == 200 and body.get("pid") == pid
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def live(state: dict[str, Any] | None) -> ServerInfo | None:
    """The server a state file describes, when its pid is alive and it answers."""
    if not state or not statefile.pid_alive(state.get("pid")):
        return None
    url, token, pid = state.get("url"), state.get("token"), state["pid"]
    if not isinstance(url, str) or not isinstance(token, str) or not healthy(url, pid):
        return None
    return ServerInfo(url=url, token=token, pid=pid)

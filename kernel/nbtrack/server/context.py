"""State shared by every request handler: storage, identity, limits and run views."""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbtrack.server.storage.base import Storage
from nbtrack.server.storage.files import FileStore, LocalFileStore

log = logging.getLogger("nbtrack.server")

DEFAULT_PROJECT = "uncategorized"


@dataclass
class ServerContext:
    storage: Storage
    entity: str  # the embedded server's single user (the admin token's identity)
    token: str | None  # the admin key; None on a team server started without one
    upload_secret: bytes
    files_dir: Path
    heartbeat_timeout: float = 120.0
    max_body_bytes: int = 32 * 1024 * 1024
    max_upload_bytes: int = 1024 * 1024 * 1024
    version: str = "0"

    @property
    def files(self) -> FileStore:
        """Uploaded run files, one directory per entity/project/run under ``files_dir``."""
        return LocalFileStore(self.files_dir)

    def entity_or_default(self, entity: Any) -> str:
        return entity if isinstance(entity, str) and entity else self.entity

    def effective_state(self, run: dict[str, Any]) -> str:
        """``running`` with a heartbeat older than the timeout reads as ``crashed``."""
        state = str(run["state"])
        if state == "running" and time.time() - float(run["heartbeat_at"]) > self.heartbeat_timeout:
            return "crashed"
        return state


def gid(kind: str, *parts: str) -> str:
    """An opaque global id in W&B's style (base64 of ``Kind:v1:parts``)."""
    return base64.b64encode(":".join([kind, "v1", *parts]).encode()).decode()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def loads(text: Any, default: Any) -> Any:
    if not isinstance(text, str) or not text:
        return default
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return default

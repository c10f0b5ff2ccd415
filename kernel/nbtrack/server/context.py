"""State shared by every request handler: storage, identity, limits and run views."""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbtrack.server.storage.base import Storage
from nbtrack.server.storage.files import FileStore, LocalFileStore
from nbtrack.server.storage.secrets import SigningKeys

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

log = logging.getLogger("nbtrack.server")

DEFAULT_PROJECT = "uncategorized"


@dataclass
class ServerContext:
    storage: Storage
    entity: str  # the embedded server's single user (the admin token's identity)
    token: str | None  # the admin key; None on a team server started without one
    files_dir: Path
    heartbeat_timeout: float = 120.0
    max_body_bytes: int = 32 * 1024 * 1024
    max_upload_bytes: int = 1024 * 1024 * 1024
    version: str = "0"
    file_store: FileStore | None = None  # None: a LocalFileStore under ``files_dir``
    trusted_proxies: tuple[Network, ...] = ()  # peers whose X-Forwarded-* / Forwarded count
    direct_uploads: bool = False  # createRunFiles answers the store's presigned PUT URLs
    signing: SigningKeys = field(init=False)

    def __post_init__(self) -> None:
        self.signing = SigningKeys(self.storage)

    @property
    def files(self) -> FileStore:
        """Uploaded run files: the object store, or one directory per run under
        ``files_dir``. Every write and read of a file goes through it."""
        if self.file_store is None:
            self.file_store = LocalFileStore(self.files_dir)
        return self.file_store

    def list_files(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """A run's files (name, size, updated_at), as every reader lists them.

        With direct uploads the bytes never pass this server, so the store is the truth: its
        listing of the run is read and each object the database does not know yet (or
        knows with another size) is recorded first. An object exists in S3 only once its
        PUT has completed (a presigned PUT is one atomic request), so a file is listed
        whole, with its stored size, or not at all; a URL handed out but never used lists
        nothing. Costs one LIST request per 1,000 files of the run.
        """
        rid = int(run["rid"])
        rows = self.storage.list_files(rid)
        if not self.direct_uploads:
            return rows
        known = {str(r["name"]): int(r["size"]) for r in rows}
        stored = self.files.list(str(run["entity"]), str(run["project"]), str(run["name"]))
        fresh = [(n, size) for n, size in stored if known.get(n) != size]
        for name, size in fresh:
            self.storage.record_file(rid, name, size)
        return self.storage.list_files(rid) if fresh else rows

    @property
    def upload_secret(self) -> bytes:
        """The key new upload URLs are signed with (the database's newest)."""
        return self.signing.current()

    def entity_or_default(self, entity: Any) -> str:
        return entity if isinstance(entity, str) and entity else self.entity

    def effective_state(self, run: dict[str, Any]) -> str:
        """``running`` with a heartbeat older than the timeout reads as ``crashed``; both
        times are the database's clock, so every replica judges a run alike."""
        state = str(run["state"])
        age = self.storage.now() - float(run["heartbeat_at"])
        if state == "running" and age > self.heartbeat_timeout:
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

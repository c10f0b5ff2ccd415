"""Where artifact bodies live in the file store, and reading one back.

A body is stored once per entity at its MD5 (W&B's digest, base64 on the wire) under the
reserved project :data:`BLOB_PROJECT`, in a subdirectory of its first two hex digits. It is
readable only once the ``artifact_blobs`` row says it was stored and checked, so a body
being uploaded (or refused) is never served. Shared by the artifact protocol
(``server/wandb/artifacts/transfer.py``) and the read API's downloads.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from nbtrack.server.storage.files import FileStore, StoredFile

__all__ = ["BLOB_PROJECT", "b64_of", "hex_digest", "open_blob"]

BLOB_PROJECT = ".artifacts"  # the file store's namespace for bodies (no run project may be it)


def hex_digest(digest: Any) -> str | None:
    """The hex MD5 of W&B's base64 digest; None when it is not one."""
    if not isinstance(digest, str) or len(digest) != 24:
        return None
    try:
        raw = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


def b64_of(hexd: str) -> str:
    """W&B's base64 digest of a hex MD5."""
    return base64.b64encode(bytes.fromhex(hexd)).decode()


def open_blob(artifacts: Any, files: FileStore, entity: str, hexd: str) -> StoredFile | None:
    """A stored body by hex MD5 (None while unknown, half-stored, or a bad name)."""
    if artifacts.blob(entity, b64_of(hexd)) is None:
        return None
    try:
        return files.open_read(entity, BLOB_PROJECT, hexd[:2], hexd)
    except ValueError:
        return None

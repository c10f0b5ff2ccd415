"""The upload-signing keys every replica shares, read from the database and cached briefly.

The newest key signs; every key still stored verifies, so a rotation (``nbtrack server
signing-key rotate``) needs no downtime: replicas that have not reread the keys yet keep
signing with the previous one (for at most :data:`CACHE_SECONDS`), which stays valid until
the next rotation. Page sessions and
login codes are stored by :func:`digest` of their id, so a copy of the database holds no
usable session.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from nbtrack.server.storage.base import Storage

__all__ = ["CACHE_SECONDS", "KEEP_KEYS", "SigningKeys", "digest", "new_signing_key", "rotate"]

KEEP_KEYS = 2  # the current key and the previous one
CACHE_SECONDS = 2.0  # how soon a replica signs with a rotated key


def new_signing_key() -> tuple[str, bytes]:
    """(key id, 32 random bytes)."""
    return "sk" + secrets.token_hex(6), secrets.token_bytes(32)


def digest(secret_id: str) -> str:
    """What the database keeps of a session id or login code."""
    return hashlib.sha256(secret_id.encode()).hexdigest()


def rotate(storage: Storage) -> str:
    """A new signing key becomes current; the one before it stays valid. Returns its id."""
    kid, secret = new_signing_key()
    storage.signing_keys()  # a database without keys gets its first one before this
    storage.add_signing_key(kid, secret, KEEP_KEYS)
    return kid


class SigningKeys:
    """The database's signing keys, reread every 2 s, and whenever a signature does not fit
    the current key (so a retired key stops verifying at once on every replica)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._lock = threading.Lock()
        self._keys: list[bytes] = []
        self._read = 0.0

    def _load(self, force: bool) -> list[bytes]:
        with self._lock:
            if force or not self._keys or time.monotonic() - self._read > CACHE_SECONDS:
                self._keys = [s for _, s in self._storage.signing_keys()]
                self._read = time.monotonic()
            return self._keys

    def current(self) -> bytes:
        """The key new URLs are signed with."""
        return self._load(False)[0]

    def all(self, refresh: bool = False) -> list[bytes]:
        """Every key a signature may have been made with (current first)."""
        return list(self._load(refresh))

"""Accounts and API keys: who a request is, and which entities it may touch.

A key is ``<key id>-<40 hex>``: the key id (``nbk`` + 12 hex) names the stored row, the
40 hex digits are 160 random bits. Only ``sha256(key)`` is stored. Keys are long random
secrets, not passwords, so a fast hash is enough: there is nothing to brute-force that
would be cheaper than guessing 160 random bits, and a slow KDF would only cost CPU on
every request. The ``-`` keeps the 40-character part that W&B clients check for.

A principal may touch its own entity (the user name) and the teams it is a member of.
The embedded single-user server's token (``--token``) is an admin key: it may touch
every entity, as the embedded server always allowed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from nbtrack.server.storage.base import Storage

KEY_ID_PREFIX = "nbk"
_KEY = re.compile(r"^(nbk[0-9a-f]{12})-([0-9a-f]{40})$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class Forbidden(Exception):
    """The principal may not touch that entity (answered with 403)."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``entities`` None: every entity (the admin token)."""

    user: str
    entities: frozenset[str] | None
    teams: tuple[str, ...] = ()
    key_id: str | None = None

    def can(self, entity: str) -> bool:
        return self.entities is None or entity in self.entities

    def check(self, entity: str) -> None:
        if not self.can(entity):
            raise Forbidden(f"permission denied: entity {entity!r} is not yours")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """(key id, key). The key is shown once and never stored."""
    key_id = KEY_ID_PREFIX + secrets.token_hex(6)
    return key_id, f"{key_id}-{secrets.token_hex(20)}"


def password_of(header: str) -> str | None:
    """The password of an HTTP Basic ``Authorization`` header (the user name is ignored:
    W&B clients send ``api``, some send another name)."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


_DUMMY_HASH = hash_key("nbtrack-no-such-key")


def authenticate(
    storage: Storage, password: str, admin_token: str | None, admin_entity: str
) -> Principal | None:
    """The principal for ``password``, or None. Unknown key id, wrong secret, revoked key and
    a key of a deleted user all look the same to the caller (and take the same work)."""
    if admin_token and hmac.compare_digest(password.encode(), admin_token.encode()):
        return Principal(admin_entity, None)
    m = _KEY.match(password)
    if m is None:
        return None
    row = storage.find_key(m.group(1))
    expected = str(row["key_hash"]) if row else _DUMMY_HASH
    ok = hmac.compare_digest(hash_key(password), expected)
    if not ok or row is None or row["revoked_at"] is not None:
        return None
    user = str(row["user_name"])
    teams = tuple(storage.teams_of(user))
    return Principal(user, frozenset({user, *teams}), teams, m.group(1))


# ---------------------------------------------------------------------- administration


def add_user(storage: Storage, name: str, teams: list[str]) -> bool:
    """Create ``name`` (if new) and add it to ``teams``; True when the user is new.

    A team is an entity name shared by its members; it may not be a user's name.
    """
    for n in (name, *teams):
        if not NAME.match(n):
            raise ValueError(f"invalid name {n!r}: use a-z, 0-9, '_', '.', '-' (max 64)")
    for t in teams:
        if storage.get_user(t) is not None:
            raise ValueError(f"{t!r} is a user, not a team")
    if any(name in (u.get("teams") or []) for u in storage.list_users()):
        raise ValueError(f"{name!r} is already a team name")
    created = storage.add_user(name)
    for t in teams:
        storage.add_member(t, name)
    return created


def create_key(storage: Storage, user: str) -> tuple[str, str]:
    """(key id, key) for an existing user; only the hash is stored."""
    if storage.get_user(user) is None:
        raise ValueError(f"no user {user!r}: add it first (user add {user})")
    key_id, key = new_key()
    storage.add_key(key_id, user, hash_key(key))
    return key_id, key

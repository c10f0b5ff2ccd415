"""Page sessions and one-time login codes, kept in the database so every replica knows them.

A session id or code is a random string handed to the browser once; the database keeps
only its sha256 (:func:`nbtrack.server.storage.secrets.digest`) and the principal it stands
for, as JSON. A code is spent by the first login that presents it (deleted in the same
statement that reads it, so two replicas cannot both accept it).
"""

from __future__ import annotations

import json
import secrets

from nbtrack.server.auth import Principal
from nbtrack.server.storage.base import Storage
from nbtrack.server.storage.secrets import digest

__all__ = ["lookup", "new_code", "new_session", "spend_code"]

SESSION, CODE = "session", "code"
MAX_SESSIONS = 100_000
MAX_CODES = 10_000


def _encode(p: Principal) -> str:
    entities = None if p.entities is None else sorted(p.entities)
    return json.dumps({"user": p.user, "entities": entities, "teams": list(p.teams),
                       "key_id": p.key_id})


def _decode(text: str | None) -> Principal | None:
    if text is None:
        return None
    d = json.loads(text)
    entities = None if d["entities"] is None else frozenset(d["entities"])
    return Principal(d["user"], entities, tuple(d["teams"]), d["key_id"])


def _new(storage: Storage, kind: str, principal: Principal, seconds: float, cap: int) -> str:
    value = secrets.token_urlsafe(32 if kind == SESSION else 24)
    storage.put_secret(kind, digest(value), _encode(principal), storage.now() + seconds, cap)
    return value


def new_code(storage: Storage, principal: Principal, seconds: float) -> str:
    """A login code that works once within ``seconds``, for ``principal``."""
    return _new(storage, CODE, principal, seconds, MAX_CODES)


def spend_code(storage: Storage, code: str) -> Principal | None:
    """The principal of a live code, which is spent by this call; None when used or expired."""
    return _decode(storage.get_secret(CODE, digest(code), spend=True))


def new_session(storage: Storage, principal: Principal, seconds: float) -> str:
    """A session id for the cookie."""
    return _new(storage, SESSION, principal, seconds, MAX_SESSIONS)


def lookup(storage: Storage, session_id: str) -> Principal | None:
    """The principal of a live session, or None."""
    return _decode(storage.get_secret(SESSION, digest(session_id), spend=False))

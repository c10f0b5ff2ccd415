"""Signed upload URLs: what ``createRunFiles`` hands out and the PUT endpoint checks.

Upload URLs carry an HMAC signature (like cloud storage pre-signed URLs), so clients PUT
without credentials, as W&B clients do. Names are checked by
:func:`nbtrack.server.storage.files.safe_name` here and stored by the file store.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse

from nbtrack.server.storage.files import safe_name

UPLOAD_PREFIX = "/storage/"
URL_TTL = 24 * 3600


def _signature(secret: bytes, path: str, expires: int) -> str:
    msg = f"PUT\n{path}\n{expires}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def upload_path(entity: str, project: str, run: str, name: str) -> str:
    parts = [entity, project, run, *name.split("/")]
    return UPLOAD_PREFIX + "/".join(urllib.parse.quote(p, safe="") for p in parts)


def upload_url(base_url: str, secret: bytes, entity: str, project: str, run: str, name: str) -> str:
    path = upload_path(entity, project, run, name)
    expires = int(time.time()) + URL_TTL
    query = urllib.parse.urlencode({"expires": expires, "sig": _signature(secret, path, expires)})
    return f"{base_url.rstrip('/')}{path}?{query}"


def verify(secret: bytes, raw_path: str, query: str) -> bool:
    """True when the URL's signature is valid and not expired."""
    params = urllib.parse.parse_qs(query)
    try:
        expires = int(params["expires"][0])
        sig = params["sig"][0]
    except (KeyError, ValueError, IndexError):
        return False
    if expires < time.time():
        return False
    return hmac.compare_digest(_signature(secret, raw_path, expires), sig)


def split_upload_path(raw_path: str) -> tuple[str, str, str, str] | None:
    """(entity, project, run, name) from a raw (still URL-encoded) upload path."""
    parts = [urllib.parse.unquote(p) for p in raw_path[len(UPLOAD_PREFIX) :].split("/")]
    if len(parts) < 4 or any("/" in p for p in parts[:3]):
        return None
    entity, project, run = parts[:3]
    name = safe_name("/".join(parts[3:]))
    if name is None or not all(safe_name(p) for p in (entity, project, run)):
        return None
    return entity, project, run, name

"""Signed upload URLs: what ``createRunFiles`` hands out and the PUT endpoint checks.

Upload URLs carry an HMAC signature (like cloud storage pre-signed URLs), so clients PUT
without credentials, as W&B clients do. A signature is good for one method (PUT), one path
(one file of one run), :data:`URL_TTL` seconds, and only while the key that asked for it is
not revoked (its key id is signed into the URL; the PUT endpoint checks the key's status).
Names are checked by :func:`nbtrack.server.storage.files.safe_name` here and stored by the
file store.

With direct uploads (an S3 store, ``--direct-uploads``, the default there) the URL handed out
is instead the store's own presigned PUT URL for that one object (:func:`url_for`): the same
TTL, the key's status checked when it is asked for (a revoked key gets no URL at all), the
bytes never through a replica.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
from typing import TYPE_CHECKING

from nbtrack.server.storage.files import safe_name

if TYPE_CHECKING:
    from nbtrack.server.context import ServerContext

UPLOAD_PREFIX = "/storage/"
URL_TTL = 30 * 60  # long enough for a queue of large files, short enough to be useless later


def _signature(secret: bytes, path: str, expires: int, key_id: str) -> str:
    msg = f"PUT\n{path}\n{expires}\n{key_id}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def upload_path(entity: str, project: str, run: str, name: str) -> str:
    parts = [entity, project, run, *name.split("/")]
    return UPLOAD_PREFIX + "/".join(urllib.parse.quote(p, safe="") for p in parts)


def upload_url(base_url: str, secret: bytes, entity: str, project: str, run: str, name: str,
               key_id: str | None = None) -> str:
    """A URL to PUT one file with, signed for the key ``key_id`` (None: the admin token)."""
    path = upload_path(entity, project, run, name)
    expires = int(time.time()) + URL_TTL
    kid = key_id or ""
    params = {"expires": expires, "kid": kid, "sig": _signature(secret, path, expires, kid)}
    return f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"


def url_for(ctx: ServerContext, base_url: str, entity: str, project: str, run: str, name: str,
            key_id: str | None = None) -> str:
    """Where a client PUTs one file: the store's presigned URL with direct uploads, else
    this server's signed URL (``key_id`` as in :func:`upload_url`)."""
    presign = getattr(ctx.files, "presign_put", None)
    if ctx.direct_uploads and presign is not None:
        return str(presign(entity, project, run, name, URL_TTL))
    return upload_url(base_url, ctx.upload_secret, entity, project, run, name, key_id)


def verify(secret: bytes, raw_path: str, query: str) -> str | None:
    """The key id the URL was signed for ("" for the admin token) when its signature is
    valid and not expired; None otherwise (the caller checks that the key is not revoked)."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    try:
        expires = int(params["expires"][0])
        sig = params["sig"][0]
        kid = params.get("kid", [""])[0]
    except (KeyError, ValueError, IndexError):
        return None
    if expires < time.time() or expires > time.time() + URL_TTL + 60:
        return None
    if not hmac.compare_digest(_signature(secret, raw_path, expires, kid), sig):
        return None
    return kid


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

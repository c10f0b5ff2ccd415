"""Signed upload URLs and the PUT endpoint that stores files.

Upload URLs carry an HMAC signature (like cloud storage pre-signed URLs), so clients PUT
without credentials, as W&B clients do. Names are checked twice: refused when they have
``..``, absolute or backslash parts, and the resolved target must stay under the run's dir.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
import urllib.parse
from io import BufferedIOBase
from pathlib import Path

UPLOAD_PREFIX = "/storage/"
URL_TTL = 24 * 3600
_CHUNK = 256 * 1024


def safe_name(name: str) -> str | None:
    """The normalized relative file name, or None when it could escape its directory."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return None
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return "/".join(parts)


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


def target(files_dir: Path, entity: str, project: str, run: str, name: str) -> Path | None:
    """Where a file is stored; None when it would resolve outside the run's directory."""
    base = (files_dir / entity / project / run).resolve()
    path = (base / name).resolve()
    if base != path and base not in path.parents:
        return None
    return path


def store(src: BufferedIOBase, length: int, path: Path) -> int:
    """Copy exactly ``length`` bytes to ``path`` through a temp file; returns the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    remaining = length
    try:
        with open(tmp, "wb") as f:
            while remaining > 0:
                chunk = src.read(min(_CHUNK, remaining))
                if not chunk:
                    raise ConnectionError("the client closed the connection mid-upload")
                f.write(chunk)
                remaining -= len(chunk)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return length

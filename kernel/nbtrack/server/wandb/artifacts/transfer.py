"""Artifact bodies over HTTP: signed upload and download URLs, the digest check on upload.

A body is stored once per entity, at its digest (W&B's: base64 MD5), in the server's file
store under the reserved project ``BLOB_PROJECT`` (:mod:`nbtrack.server.storage.blobs`); a
version lists its files by digest.
An upload URL is signed (HMAC, like the run files' in :mod:`..uploads`) for one entity, one
digest and the version that asked for it; the PUT's body is hashed while it is stored and a
body whose MD5 differs from the digest is refused (400) and never becomes visible: the
local store writes through a temp file that the mismatch removes, and the row that makes a
body known (``artifact_blobs``) is written only after the check. A manifest is uploaded to
its version's own signed URL, parsed, and kept as a body by its MD5 like the files.
Artifact bodies always pass through the server (no direct-to-S3 URLs): the digest check
needs the bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass
from io import BufferedIOBase, BytesIO
from typing import TYPE_CHECKING, Any

from nbtrack.server.context import log
from nbtrack.server.storage import blobs
from nbtrack.server.storage.artifacts import ArtifactConflict, Entry
from nbtrack.server.storage.blobs import BLOB_PROJECT, b64_of, hex_digest
from nbtrack.server.storage.files import StoredFile, safe_name
from nbtrack.server.wandb.uploads import URL_TTL

if TYPE_CHECKING:
    from nbtrack.server.context import ServerContext

__all__ = ["PREFIX", "Target", "download_url", "manifest_url", "open_blob", "parse_path",
           "receive", "upload_url", "verify_get", "verify_put"]

PREFIX = "/artifact-storage/"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
MAX_MANIFEST_ENTRIES = 1_000_000


@dataclass(frozen=True)
class Target:
    """What a ``/artifact-storage/`` path names: an entity's body by hex MD5, or the
    manifest of a version (``key`` its id)."""

    entity: str
    kind: str  # "blob" | "manifest"
    key: str


def _path(entity: str, kind: str, key: str) -> str:
    parts = [entity, "manifests" if kind == "manifest" else "blobs", key]
    return PREFIX + "/".join(urllib.parse.quote(p, safe="") for p in parts)


def parse_path(raw_path: str) -> Target | None:
    parts = [urllib.parse.unquote(p) for p in raw_path[len(PREFIX):].split("/")]
    if len(parts) != 3 or safe_name(parts[0]) != parts[0] or "/" in parts[0]:
        return None
    entity, kind, key = parts
    if kind == "blobs" and len(key) == 32 and all(c in "0123456789abcdef" for c in key):
        return Target(entity, "blob", key)
    if kind == "manifests" and key.isdigit():
        return Target(entity, "manifest", key)
    return None


def _sign(secret: bytes, method: str, path: str, expires: int, kid: str, vid: str) -> str:
    msg = f"{method}\n{path}\n{expires}\n{kid}\n{vid}".encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def _url(base_url: str, secret: bytes, method: str, path: str, kid: str, vid: str) -> str:
    expires = int(time.time()) + URL_TTL
    params = {"expires": expires, "kid": kid, "v": vid,
              "sig": _sign(secret, method, path, expires, kid, vid)}
    return f"{base_url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"


def upload_url(ctx: ServerContext, base_url: str, entity: str, hexd: str, vid: int,
               kid: str | None) -> str:
    """Where the client PUTs the body with MD5 ``hexd`` for version ``vid``."""
    return _url(base_url, ctx.upload_secret, "PUT", _path(entity, "blob", hexd), kid or "",
                str(vid))


def manifest_url(ctx: ServerContext, base_url: str, entity: str, vid: int,
                 kid: str | None) -> str:
    return _url(base_url, ctx.upload_secret, "PUT", _path(entity, "manifest", str(vid)),
                kid or "", str(vid))


def download_url(ctx: ServerContext, base_url: str, entity: str, digest: Any) -> str | None:
    """A GET URL for the body with W&B digest ``digest`` (no credentials needed)."""
    hexd = hex_digest(digest)
    if hexd is None:
        return None
    return _url(base_url, ctx.upload_secret, "GET", _path(entity, "blob", hexd), "", "")


def _verify(method: str, secret: bytes, raw_path: str, query: str) -> str | None:
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    try:
        expires = int(params["expires"][0])
        sig = params["sig"][0]
        kid = params.get("kid", [""])[0]
        vid = params.get("v", [""])[0]
    except (KeyError, ValueError, IndexError):
        return None
    if expires < time.time() or expires > time.time() + URL_TTL + 60:
        return None
    if not hmac.compare_digest(_sign(secret, method, raw_path, expires, kid, vid), sig):
        return None
    return kid


def verify_put(secret: bytes, raw_path: str, query: str) -> str | None:
    """The key id a PUT URL was signed for ("" for the admin token); None when invalid."""
    return _verify("PUT", secret, raw_path, query)


def verify_get(secret: bytes, raw_path: str, query: str) -> str | None:
    return _verify("GET", secret, raw_path, query)


def _version_of(query: str) -> int:
    return int(urllib.parse.parse_qs(query).get("v", ["0"])[0] or 0)


class DigestMismatch(ValueError):
    """The body's MD5 is not the digest it was uploaded as."""


class _Hashing(BufferedIOBase):
    """``length`` bytes of ``src``, hashed as read; the read that ends them raises
    :class:`DigestMismatch` when their MD5 is not ``hexd``, so the store drops its temp
    file instead of publishing the body."""

    def __init__(self, src: BufferedIOBase, length: int, hexd: str) -> None:
        self.src, self.left, self.hexd = src, length, hexd
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.ok = length == 0 and self.md5.hexdigest() == hexd

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        if self.left <= 0:
            return b""
        chunk = self.src.read(self.left if n is None or n < 0 else min(n, self.left))
        self.left -= len(chunk)
        self.md5.update(chunk)
        if self.left == 0 or not chunk:
            got = self.md5.hexdigest()
            self.ok = self.left == 0 and got == self.hexd
            if self.left == 0 and not self.ok:
                raise DigestMismatch(f"the body's MD5 is {b64_of(got)}, not {b64_of(self.hexd)}")
        return chunk


def _store(ctx: ServerContext, entity: str, hexd: str, src: BufferedIOBase, length: int) -> None:
    """Store a body at its digest, checked; raises DigestMismatch (nothing kept) or OSError.

    A body the store already holds is only read and checked, never written again, so a bad
    upload to a known digest cannot replace the good copy."""
    body = _Hashing(src, length, hexd)
    if length == 0 and not body.ok:  # nothing to read: refused before anything is written
        raise DigestMismatch(f"an empty body's MD5 is {b64_of(body.md5.hexdigest())}, not"
                             f" {b64_of(hexd)}")
    if ctx.storage.artifacts.blob(entity, b64_of(hexd)) is not None:
        while body.read(1 << 20):
            pass
        if not body.ok:
            raise ConnectionError("the client closed the connection mid-upload")
        return
    try:
        ctx.files.write(entity, BLOB_PROJECT, hexd[:2], hexd, body, length)
    finally:
        if not body.ok:  # an object store that kept what it read: remove it
            try:
                if ctx.storage.artifacts.blob(entity, b64_of(hexd)) is None:
                    ctx.files.delete(entity, BLOB_PROJECT, hexd[:2], hexd)
            except (OSError, ValueError):
                pass
    if not body.ok:
        raise DigestMismatch("the body's MD5 is not its digest")


def open_blob(ctx: ServerContext, entity: str, hexd: str) -> StoredFile | None:
    """A stored body (only once known: a half-stored one is never served)."""
    return blobs.open_blob(ctx.storage.artifacts, ctx.files, entity, hexd)


def receive(ctx: ServerContext, target: Target, query: str, src: BufferedIOBase,
            length: int) -> tuple[int, dict[str, Any]]:
    """Store one uploaded body or manifest; (HTTP status, JSON answer)."""
    arts = ctx.storage.artifacts
    vid = int(target.key) if target.kind == "manifest" else _version_of(query)
    version = arts.version(vid) if vid else None
    if version is None or version["entity"] != target.entity:
        return 404, {"error": "artifact not found"}
    if target.kind == "blob":
        try:
            _store(ctx, target.entity, target.key, src, length)
        except DigestMismatch as e:
            log.warning("artifact upload refused: %s", e)
            return 400, {"error": f"digest mismatch: {e}"}
        arts.add_blob(target.entity, b64_of(target.key), length, vid)
        return 200, {"ok": True, "size": length}
    return _receive_manifest(ctx, version, src, length)


def _receive_manifest(ctx: ServerContext, version: dict[str, Any], src: BufferedIOBase,
                      length: int) -> tuple[int, dict[str, Any]]:
    if length > MAX_MANIFEST_BYTES:
        return 413, {"error": f"the manifest is over {MAX_MANIFEST_BYTES} bytes"}
    raw = src.read(length)
    if len(raw) != length:
        return 400, {"error": "the client closed the connection mid-upload"}
    hexd = hashlib.md5(raw, usedforsecurity=False).hexdigest()
    try:
        entries = parse_manifest(raw)
    except ValueError as e:
        return 400, {"error": f"invalid manifest: {e}"}
    entity = str(version["entity"])
    _store(ctx, entity, hexd, BytesIO(raw), length)
    ctx.storage.artifacts.add_blob(entity, b64_of(hexd), length, None)
    try:
        ctx.storage.artifacts.set_manifest(int(version["id"]), b64_of(hexd), entries)
    except ArtifactConflict as e:
        return 409, {"error": str(e)}
    return 200, {"ok": True, "size": length}


def parse_manifest(raw: bytes) -> list[Entry]:
    """The entries of a W&B manifest (``version`` 1, ``contents`` by path); a path that
    could escape a download directory or a digest that is not one is refused."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError("not JSON") from None
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise ValueError("only manifest version 1 is supported")
    contents = doc.get("contents")
    if not isinstance(contents, dict) or len(contents) > MAX_MANIFEST_ENTRIES:
        raise ValueError(f"contents must be an object of at most {MAX_MANIFEST_ENTRIES} files")
    out = []
    for name, e in contents.items():
        if safe_name(name) != name or not isinstance(e, dict):
            raise ValueError(f"invalid file path {name[:80]!r}")
        ref = e.get("ref")
        digest, size = e.get("digest"), e.get("size", 0)
        if ref is None and hex_digest(digest) is None:
            raise ValueError(f"{name!r}: digest {str(digest)[:40]!r} is not a base64 MD5")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            size = 0
        out.append(Entry(name, str(digest), size, ref if isinstance(ref, str) else None))
    return out

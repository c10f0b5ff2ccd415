"""A run's files as W&B's ``Run.files`` connection, and their signed download URLs.

``run.files(names=, pattern=)`` pages through the stored files by name (the cursor is the
last name); ``pattern`` is MySQL ``LIKE`` (``%`` any run, ``_`` one character), as W&B's
backend takes it. Each file has a download ``url`` signed like the upload URLs (HMAC with
the server's upload secret, 24 h, a ``GET`` signature that cannot be used to upload), so
wandb-core downloads it without credentials, as from W&B's bucket. ``md5`` (base64, W&B's
form) is computed by reading the file, cached by (path, size, mtime).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import threading
import time
import urllib.parse
from collections import OrderedDict
from typing import Any

import re2

from nbtrack.server.context import ServerContext, gid, iso
from nbtrack.server.wandb import uploads
from nbtrack.server.wandb.graphql import GraphQLError
from nbtrack.server.wandb.projection import with_args

__all__ = ["MAX_PAGE", "download_url", "file_count", "files_connection", "verify_download"]

MAX_PAGE = 1000
MAX_PATTERN = 256
_MAX_NAMES = 10_000

Run = dict[str, Any]


def _signature(secret: bytes, path: str, expires: int) -> str:
    return hmac.new(secret, f"GET\n{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def download_url(base_url: str, secret: bytes, entity: str, project: str, run: str,
                 name: str) -> str:
    path = uploads.upload_path(entity, project, run, name)
    expires = int(time.time()) + uploads.URL_TTL
    query = urllib.parse.urlencode({"expires": expires, "get": _signature(secret, path,
                                                                          expires)})
    return f"{base_url.rstrip('/')}{path}?{query}"


def verify_download(secret: bytes, raw_path: str, query: str) -> str | None:
    """``raw_path`` when a GET of it carries a valid, unexpired download signature made with
    ``secret``; None otherwise (the shape of :func:`uploads.verify`, so the server tries
    every signing key the same way)."""
    params = urllib.parse.parse_qs(query)
    try:
        expires = int(params["expires"][0])
        sig = params["get"][0]
    except (KeyError, ValueError, IndexError):
        return None
    if expires < time.time():
        return None
    return raw_path if hmac.compare_digest(_signature(secret, raw_path, expires), sig) else None


def _like(pattern: str) -> Any:
    """MySQL ``LIKE`` as an RE2 pattern (linear time, whatever the pattern)."""
    if len(pattern) > MAX_PATTERN:
        raise GraphQLError(f"files: pattern is longer than {MAX_PATTERN} characters")
    out = []
    for c in pattern:
        out.append(".*" if c == "%" else "." if c == "_" else f"\\x{{{ord(c):x}}}")
    options = re2.Options()
    options.dot_nl = True
    options.log_errors = False
    return re2.compile("".join(out), options=options)


_MD5: OrderedDict[tuple[str, int, str], str] = OrderedDict()
_MD5_LOCK = threading.Lock()


def _md5(ctx: ServerContext, run: Run, f: dict[str, Any]) -> str | None:
    """The file's MD5 (base64, as W&B answers it), read through the file store; cached by
    the stored row's name, size and update time, so a new version is hashed again."""
    e, p, r, name = run["entity"], run["project"], run["name"], str(f["name"])
    key = (f"{e}/{p}/{r}/{name}", int(f["size"]), str(f["updated_at"]))
    with _MD5_LOCK:
        if key in _MD5:
            return _MD5[key]
    try:
        stored = ctx.files.open_read(e, p, r, name)
    except ValueError:
        return None
    if stored is None:
        return None
    h = hashlib.md5(usedforsecurity=False)
    with stored:
        while chunk := stored.stream.read(1 << 20):
            h.update(chunk)
    digest = base64.b64encode(h.digest()).decode()
    with _MD5_LOCK:
        _MD5[key] = digest
        while len(_MD5) > 4096:
            _MD5.popitem(last=False)
    return digest


def _selected(ctx: ServerContext, run: Run, args: dict[str, Any]) -> list[dict[str, Any]]:
    files = ctx.list_files(run)
    names = args.get("names") or []
    pattern = args.get("pattern")
    if not isinstance(names, list) or len(names) > _MAX_NAMES:
        raise GraphQLError(f"files: names must be a list of at most {_MAX_NAMES} names")
    if names and pattern:
        raise GraphQLError("files: give names or pattern, not both")
    if names:
        wanted = {str(n) for n in names}
        files = [f for f in files if f["name"] in wanted]
    elif isinstance(pattern, str) and pattern:
        rx = _like(pattern)
        files = [f for f in files if rx.fullmatch(f["name"])]
    return files


def file_count(ctx: ServerContext, run: Run) -> int:
    return len(ctx.list_files(run))


def files_connection(ctx: ServerContext, base_url: str, run: Run,
                     args: dict[str, Any]) -> dict[str, Any]:
    first = args.get("first")
    limit = 50 if first is None else first
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_PAGE:
        raise GraphQLError(f"files: first must be 1 to {MAX_PAGE}")
    after = args.get("after")
    files = _selected(ctx, run, args)
    if isinstance(after, str) and after:
        try:
            last = base64.b64decode(after).decode()
        except ValueError:
            raise GraphQLError("files: invalid cursor") from None
        files = [f for f in files if f["name"] > last]
    page, more = files[:limit], len(files) > limit
    e, p, r = run["entity"], run["project"], run["name"]

    def node(f: dict[str, Any]) -> dict[str, Any]:
        name = f["name"]
        url = download_url(base_url, ctx.upload_secret, e, p, r, name)

        def url_field(a: dict[str, Any]) -> str:
            if a.get("upload"):  # url(upload: true): where to PUT a new version
                return uploads.url_for(ctx, base_url, e, p, r, name)
            return url

        return {
            "id": gid("File", name, r, p, e),
            "name": name,
            "url": with_args(url_field),
            "directUrl": url,
            "sizeBytes": int(f["size"]),
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "updatedAt": iso(f["updated_at"]),
            "md5": lambda: _md5(ctx, run, f),
            "__typename": "File",
        }

    def cursor(f: dict[str, Any]) -> str:
        return base64.b64encode(str(f["name"]).encode()).decode()

    edges = [{"node": node(f), "cursor": cursor(f), "__typename": "FileEdge"} for f in page]
    return {
        "edges": edges,
        "pageInfo": {"endCursor": edges[-1]["cursor"] if edges else None,
                     "hasNextPage": more, "__typename": "PageInfo"},
        "__typename": "FileConnection",
    }

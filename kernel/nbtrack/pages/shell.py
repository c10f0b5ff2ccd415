"""The run pages shared by the Jupyter extension and ``nbtrack server``: shell and files.

Standard library only (the tracking server imports it). The pages are static files in
``static/``; one HTML shell names the view and the root URL the scripts build every link
and API call from (``<base_url>nbtrack/`` in Jupyter, ``/pages/`` on the tracking server).
"""

from __future__ import annotations

import html
import re
import urllib.parse
from pathlib import Path

STATIC = Path(__file__).with_name("static")
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
VIEWS = ("runs", "run", "compare")
# read API paths that may be forwarded (decoded segments; ``*`` = one safe segment)
_SEGMENT = re.compile(r"^[^/\\\x00-\x1f%]+$")
RUN_PARTS = ("history", "events", "output", "files", "media", "artifacts")
QUERY_KEYS = ("project", "entity", "keys", "samples", "min_step", "max_step", "key", "step",
              "limit", "cursor")


def static_files() -> dict[str, Path]:
    """Every file the pages may load, by its name under ``static/`` (the allow-list)."""
    out: dict[str, Path] = {}
    for path in STATIC.rglob("*"):
        rel = path.relative_to(STATIC).as_posix()
        if path.is_file() and (path.suffix in CONTENT_TYPES or rel.endswith("LICENSE")):
            out[rel] = path
    return out


def static_file(name: str) -> tuple[Path, str] | None:
    """The file for ``static/<name>`` and its content type, or None (not allowed)."""
    parts = name.split("/")
    if not all(_NAME.match(p) for p in parts):
        return None
    path = static_files().get(name)
    if path is None:
        return None
    return path, CONTENT_TYPES.get(path.suffix, "text/plain; charset=utf-8")


def api_path(raw: str) -> str | None:
    """The read API path (``runs/...``, re-encoded) for a raw request path, or None.

    ``raw`` is still percent-encoded; each segment is decoded once and must be a plain name:
    no ``.``/``..``, no slash or backslash (encoded or not), no ``%`` left after decoding.
    """
    if not raw or "?" in raw or "#" in raw:
        return None
    segs = [urllib.parse.unquote(s) for s in raw.split("/")]
    for s in segs:
        if s in ("", ".", "..") or not _SEGMENT.match(s):
            return None
    ok = (
        segs in (["viewer"], ["runs"])
        or (segs[0] == "runs" and len(segs) == 4)
        or (segs[0] == "runs" and len(segs) == 5 and segs[4] in RUN_PARTS)
        or (segs[0] == "runs" and len(segs) >= 6 and segs[4] == "files")
    )
    if not ok:
        return None
    return "/".join(urllib.parse.quote(s, safe="") for s in segs)


def api_query(arguments: dict[str, list[str]]) -> str:
    """Only the read API's own query parameters, re-encoded."""
    pairs = [(k, v) for k in QUERY_KEYS for v in arguments.get(k, [])[:1]]
    return urllib.parse.urlencode(pairs)


def shell(root: str, view: str, title: str = "nbtrack") -> str:
    """The HTML of a page: the scripts read the view and root from ``<body>``."""
    r = html.escape(root, quote=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{html.escape(title)}</title>
<link rel="stylesheet" href="{r}static/pages.css">
</head>
<body data-root="{r}" data-view="{html.escape(view, quote=True)}">
<header class="nbt-top"><a class="nbt-home" href="{r}">nbtrack</a>
<nav id="nbt-crumbs"></nav></header>
<main id="nbt-main"><p class="nbt-loading">loading…</p></main>
<script src="{r}static/pages.js"></script>
</body></html>
"""


def no_server_page(root: str, detail: str) -> str:
    """What the pages show when no tracking server answers."""
    r = html.escape(root, quote=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nbtrack: no tracking server</title>
<link rel="stylesheet" href="{r}static/pages.css"></head>
<body data-root="{r}" data-view="no-server">
<header class="nbt-top"><a class="nbt-home" href="{r}">nbtrack</a></header>
<main id="nbt-main" class="nbt-no-server">
<h1>No nbtrack tracking server is running</h1>
<p>{html.escape(detail)}</p>
<p>Start one in a terminal with <code>nbtrack server</code>, or start a run in a notebook
(<code>nbtrack.init()</code> starts the local server), then reload this page.</p>
<p>To use a remote server, set <code>NBTRACK_BASE_URL</code> and <code>NBTRACK_API_KEY</code>
in the environment of the Jupyter server.</p>
</main></body></html>
"""


def view_of(rest: str) -> str | None:
    """The view for a page path below the root: ``""``, ``runs/<e>/<p>/<id>``, ``compare``."""
    rest = rest.strip("/")
    if rest == "":
        return "runs"
    if rest == "compare":
        return "compare"
    parts = rest.split("/")
    if len(parts) == 4 and parts[0] == "runs" and api_path(rest) is not None:
        return "run"
    return None

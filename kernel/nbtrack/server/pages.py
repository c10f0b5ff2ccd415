"""The run pages on the tracking server itself (``/pages/...``), behind a token login.

The same static pages the Jupyter extension serves (:mod:`nbtrack.pages.shell`). The
browser logs in with a one-time link (``/pages/login?once=…[&next=…]``: logged by ``nbtrack
server`` when it starts, printed by the kernel, ``nbtrack ui`` and the CLI, which ask for a
code at ``POST /api/v1/login-code`` with their key; it is not the token, works once, expires
and is bound to the principal of the key that asked), with the server's token (or an account
key) in the login form, or ``/pages/login?token=…``. The answer sets an HttpOnly cookie
holding a random session id, never the token, and redirects to a URL without the token.
The pages read the API through ``/pages/api/...`` with that cookie (GET only).

A run's W&B-style URL ``/<entity>/<project>/runs/<id>`` (what ``run.url`` says) redirects to
its page, so the widget's link works without Jupyter's extension.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from typing import Any

from nbtrack.pages import shell as shared
from nbtrack.server import auth, sessions
from nbtrack.server.auth import Principal
from nbtrack.server.context import ServerContext
from nbtrack.server.readapi import routes as readapi
from nbtrack.server.storage.files import StoredFile
from nbtrack.wire import strictjson, urls

ROOT = urls.PAGES
COOKIE = "nbtrack_session"
SESSION_SECONDS = 7 * 24 * 3600
MAX_FILE_BYTES = 256 * 1024 * 1024
_RUN_URL = urls.RUN_PAGE

Reply = tuple[int, dict[str, str], bytes]


def handles(path: str) -> bool:
    return path == "/pages" or path.startswith(ROOT) or _RUN_URL.match(path) is not None


def _principal_for(ctx: ServerContext, token: str) -> Principal | None:
    """The principal of a token typed at the login (the server token or a key), or None."""
    return auth.authenticate(ctx.storage, token, ctx.token, ctx.entity)


ONCE_SECONDS = 15 * 60


def new_login_code(ctx: ServerContext, principal: Principal) -> str:
    """A login code that works once, within 15 minutes, for ``principal`` (safe to print: it
    is not the token and is spent by the first login). Never principal-less: a code sees
    what the key that asked for it sees, no more. Kept in the database: any replica takes it."""
    return sessions.new_code(ctx.storage, principal, ONCE_SECONDS)


def _spend_code(ctx: ServerContext, code: str) -> tuple[bool, Principal | None]:
    principal = sessions.spend_code(ctx.storage, code)
    return principal is not None, principal


def issue_code(ctx: ServerContext, principal: Principal) -> Reply:
    """``POST /api/v1/login-code`` (authenticated by the caller): a fresh one-time code."""
    code = new_login_code(ctx, principal)
    return _json(200, {"code": code, "login": urls.pages_login(code),
                       "expires_in": ONCE_SECONDS})


def _new_session(ctx: ServerContext, principal: Principal) -> str:
    return sessions.new_session(ctx.storage, principal, SESSION_SECONDS)


def _session(ctx: ServerContext, cookie_header: str) -> tuple[bool, Principal | None]:
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            principal = sessions.lookup(ctx.storage, value)
            if principal is not None:
                return True, principal
    return False, None


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith(ROOT) or "//" in target or "\\" in target:
        return ROOT
    return target


def _html(status: int, body: str, headers: dict[str, str] | None = None) -> Reply:
    h = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", **(headers or {})}
    return status, h, body.encode()


def _json(status: int, value: Any) -> Reply:
    h = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    return status, h, strictjson.dumps(value)


def login_page(next_url: str, error: str = "") -> str:
    err = f'<p class="nbt-error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nbtrack: log in</title>
<meta name="referrer" content="no-referrer">
<link rel="stylesheet" href="{ROOT}static/pages.css"></head>
<body data-view="login"><header class="nbt-top"><span class="nbt-home">nbtrack</span></header>
<main><h1>Log in to the run pages</h1>{err}
<form method="post" action="{ROOT}login" class="nbt-login">
<input type="hidden" name="next" value="{html.escape(next_url, quote=True)}">
<label>Token or API key <input type="password" name="token" autocomplete="current-password"
 autofocus></label> <button type="submit">Log in</button></form>
<p><code>nbtrack ui</code> prints a link that logs you in once. The token is in
<code>&lt;NBTRACK_DIR&gt;/server/state.json</code>.</p></main></body></html>
"""


def _login(ctx: ServerContext, token: str | None, next_url: str, once: str | None = None,
           cookie: str = "") -> Reply:
    if once:
        ok, principal = _spend_code(ctx, once)
        if not ok and _session(ctx, cookie)[0]:
            # the same link opened again in a browser it already logged in: just go there
            return 302, {"Location": next_url, "Cache-Control": "no-store"}, b""
        if not ok:
            return _html(403, login_page(
                next_url, "That login link was used or has expired: `nbtrack ui` prints a new "
                "one."))
    elif not token:
        return _html(200, login_page(next_url))
    else:
        principal = _principal_for(ctx, token)
    if principal is None:
        return _html(403, login_page(next_url, "That token is not valid."))
    sid = _new_session(ctx, principal)
    cookie = f"{COOKIE}={sid}; Path={ROOT}; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}"
    return 302, {"Location": next_url, "Set-Cookie": cookie, "Cache-Control": "no-store"}, b""


def get(ctx: ServerContext, path: str, query: str, cookie: str) -> Reply:
    """Answer a GET (or HEAD) below ``/pages/`` or a run URL."""
    m = None if path.startswith(ROOT) else _RUN_URL.match(path)
    if m is not None:
        target = ROOT + "runs/" + "/".join(m.groups())
        return 302, {"Location": target}, b""
    if path == "/pages":
        return 302, {"Location": ROOT}, b""
    rest = path[len(ROOT) :]
    params = urllib.parse.parse_qs(query)
    if rest == "login":
        return _login(ctx, params.get("token", [None])[0], _safe_next(params.get("next", [""])[0]),
                      params.get("once", [None])[0], cookie)
    if rest == "static/pages.css":  # the login page's style is public (no data in it)
        found = shared.static_file("pages.css")
        assert found is not None
        return 200, {"Content-Type": found[1]}, found[0].read_bytes()
    ok, principal = _session(ctx, cookie)
    if not ok:
        if rest.startswith("api/"):
            return _json(403, {"error": "log in first", "login": ROOT + "login"})
        next_url = urllib.parse.quote(path + (f"?{query}" if query else ""), safe="/")
        return 302, {"Location": f"{ROOT}login?next={next_url}", "Cache-Control": "no-store"}, b""
    if rest.startswith("static/"):
        asset = shared.static_file(rest[len("static/") :])
        if asset is None:
            return _json(404, {"error": "not found"})
        return 200, {"Content-Type": asset[1], "Cache-Control": "no-cache"}, asset[0].read_bytes()
    if rest.startswith("api/"):
        api = shared.api_path(rest[len("api/") :])
        if api is None:
            return _json(400, {"error": "not a readable nbtrack path"})
        q = shared.api_query(params)
        status, value = readapi.handle(ctx, api, q, principal=principal)
        if isinstance(value, StoredFile):  # a stored file (from disk or the object store)
            with value:
                if value.size > MAX_FILE_BYTES:
                    return _json(413, {"error": "the file is too large to download here"})
                data = value.read()
            name = re.sub(r"[^A-Za-z0-9._-]", "_", value.name) or "file"
            return 200, {
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{name}"',
            }, data
        return _json(status, value)
    view = shared.view_of(urllib.parse.unquote(rest))
    if view is None:
        return _json(404, {"error": "not found"})
    return _html(200, shared.shell(ROOT, view))


def post(ctx: ServerContext, path: str, body: bytes) -> Reply:
    """``POST /pages/login`` (the form); every other POST below ``/pages/`` is refused."""
    if path != ROOT + "login":
        return _json(405, {"error": "the pages are read-only"})
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return _login(ctx, form.get("token", [""])[0], _safe_next(form.get("next", [""])[0]))


def login_url(ctx: ServerContext, server_url: str, principal: Principal) -> str:
    """A link that logs one browser in once as ``principal`` (``nbtrack server`` logs one for
    its admin token when it starts)."""
    return f"{server_url.rstrip('/')}{urls.pages_login(new_login_code(ctx, principal))}"

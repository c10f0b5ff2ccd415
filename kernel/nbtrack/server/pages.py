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

import hmac
import html
import re
import secrets
import urllib.parse
from typing import Any

from nbtrack.pages import shell as shared
from nbtrack.server import auth, sessions
from nbtrack.server.auth import Principal
from nbtrack.server.context import ServerContext
from nbtrack.server.readapi import routes as readapi
from nbtrack.server.storage.files import StoredFile
from nbtrack.wire import strictjson, urls
from nbtrack.wire.mediatypes import inline_type

ROOT = urls.PAGES
COOKIE = "nbtrack_session"
CSRF_COOKIE = "nbtrack_csrf"  # the login form's double-submit token
CSRF_FIELD = "csrf"
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


def _cookie(cookie_header: str, name: str) -> str:
    for part in cookie_header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return ""


def _key_alive(ctx: ServerContext, principal: Principal) -> bool:
    """False once the key the principal logged in with is revoked (or its user deleted):
    asked on every request, so revoking a key ends its sessions at once."""
    if principal.key_id is None:
        return True  # the admin token: it lives as long as the server process
    row = ctx.storage.find_key(principal.key_id)
    return row is not None and row["revoked_at"] is None


def _session(ctx: ServerContext, cookie_header: str) -> tuple[bool, Principal | None]:
    sid = _cookie(cookie_header, COOKIE)
    if not sid:
        return False, None
    principal = sessions.lookup(ctx.storage, sid)  # in the database: any replica
    if principal is None or not _key_alive(ctx, principal):
        return False, None
    return True, principal


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


def login_page(next_url: str, error: str = "", csrf_token: str = "") -> str:
    err = f'<p class="nbt-error" role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nbtrack: log in</title>
<meta name="referrer" content="no-referrer">
<link rel="stylesheet" href="{ROOT}static/pages.css"></head>
<body data-view="login"><header class="nbt-top"><span class="nbt-home">nbtrack</span></header>
<main><h1>Log in to the run pages</h1>{err}
<form method="post" action="{ROOT}login" class="nbt-login">
<input type="hidden" name="next" value="{html.escape(next_url, quote=True)}">
<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(csrf_token, quote=True)}">
<label>Token or API key <input type="password" name="token" autocomplete="current-password"
 autofocus></label> <button type="submit">Log in</button></form>
<p><code>nbtrack ui</code> prints a link that logs you in once. The token is in
<code>&lt;NBTRACK_DIR&gt;/server/state.json</code>.</p></main></body></html>
"""


def _login_form(status: int, next_url: str, error: str = "") -> Reply:
    """The login page with a fresh double-submit token in its form and in a cookie: a
    foreign site can neither read nor set the cookie, so it cannot post a login (login
    CSRF) even when the browser sends ``Origin: null``."""
    token = secrets.token_urlsafe(24)
    cookie = f"{CSRF_COOKIE}={token}; Path={ROOT}; HttpOnly; SameSite=Strict"
    return _html(status, login_page(next_url, error, token), {"Set-Cookie": cookie})


def _confirm_form(next_url: str, once: str | None, token: str | None) -> Reply:
    """A login link opened from another site: ask before logging in, so a foreign page
    cannot log this browser in to its maker's account (login CSRF). The code is not spent
    until the button posts it back, with the form's double-submit token."""
    csrf = secrets.token_urlsafe(24)
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value, quote=True)}">'
        for name, value in (("next", next_url), ("once", once or ""), ("token", token or ""),
                            (CSRF_FIELD, csrf)) if value)
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nbtrack: log in?</title>
<meta name="referrer" content="no-referrer">
<link rel="stylesheet" href="{ROOT}static/pages.css"></head>
<body data-view="confirm-login"><header class="nbt-top"><span class="nbt-home">nbtrack</span>
</header><main><h1>Log in to the run pages?</h1>
<p>Another site sent you here with a login link. Log in only if you asked for it
(<code>nbtrack ui</code> or a notebook's link).</p>
<form method="post" action="{ROOT}login" class="nbt-login">{hidden}
<button type="submit">Log in</button></form></main></body></html>
"""
    cookie = f"{CSRF_COOKIE}={csrf}; Path={ROOT}; HttpOnly; SameSite=Strict"
    return _html(200, body, {"Set-Cookie": cookie})


def _login(ctx: ServerContext, token: str | None, next_url: str, once: str | None = None,
           cookie: str = "") -> Reply:
    if once:
        ok, principal = _spend_code(ctx, once)
        if ok and principal is not None and not _key_alive(ctx, principal):
            ok = False  # the key that asked for the code was revoked since
        if not ok and _session(ctx, cookie)[0]:
            # the same link opened again in a browser it already logged in: just go there
            return 302, {"Location": next_url, "Cache-Control": "no-store"}, b""
        if not ok:
            return _login_form(
                403, next_url, "That login link was used or has expired: `nbtrack ui` prints a "
                "new one.")
    elif not token:
        return _login_form(200, next_url)
    else:
        principal = _principal_for(ctx, token)
    if principal is None:
        return _login_form(403, next_url, "That token is not valid.")
    sid = _new_session(ctx, principal)
    cookie = f"{COOKIE}={sid}; Path={ROOT}; HttpOnly; SameSite=Lax; Max-Age={SESSION_SECONDS}"
    return 302, {"Location": next_url, "Set-Cookie": cookie, "Cache-Control": "no-store"}, b""


def get(ctx: ServerContext, path: str, query: str, cookie: str, cross_site: bool = False
        ) -> Reply:
    """Answer a GET (or HEAD) below ``/pages/`` or a run URL. ``cross_site``: the browser
    says another site sent it (``Sec-Fetch-Site: cross-site``)."""
    m = None if path.startswith(ROOT) else _RUN_URL.match(path)
    if m is not None:
        target = ROOT + "runs/" + "/".join(m.groups())
        return 302, {"Location": target}, b""
    if path == "/pages":
        return 302, {"Location": ROOT}, b""
    rest = path[len(ROOT) :]
    params = urllib.parse.parse_qs(query)
    if rest == "login":
        token, once = params.get("token", [None])[0], params.get("once", [None])[0]
        next_url = _safe_next(params.get("next", [""])[0])
        if cross_site and (token or once):
            return _confirm_form(next_url, once, token)
        return _login(ctx, token, next_url, once, cookie)
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
            inline = inline_type(value.name)
            if inline is not None:  # a logged image or table, shown by the pages
                return 200, {"Content-Type": inline, "X-Content-Type-Options": "nosniff"}, data
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


def post(ctx: ServerContext, path: str, body: bytes, cookie: str = "") -> Reply:
    """``POST /pages/login`` (the form, with its double-submit token); every other POST
    below ``/pages/`` is refused."""
    if path != ROOT + "login":
        return _json(405, {"error": "the pages are read-only"})
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    next_url = _safe_next(form.get("next", [""])[0])
    sent, expected = form.get(CSRF_FIELD, [""])[0], _cookie(cookie, CSRF_COOKIE)
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_form(403, next_url, "The login form expired or came from another site: "
                           "log in again here.")
    return _login(ctx, form.get("token", [""])[0], next_url, form.get("once", [None])[0], cookie)


def login_url(ctx: ServerContext, server_url: str, principal: Principal) -> str:
    """A link that logs one browser in once as ``principal`` (``nbtrack server`` logs one for
    its admin token when it starts)."""
    return f"{server_url.rstrip('/')}{urls.pages_login(new_login_code(ctx, principal))}"

"""Cross-site request forgery: which state-changing requests a browser may have been made
to send by another site, and the login form's token.

Every browser sends ``Origin`` on a POST or PUT (and ``Sec-Fetch-Site`` on every request);
the W&B clients, ``curl`` and nbtrack's own client send neither. So a POST or PUT whose
``Origin`` is not this server, or that a browser marks ``cross-site``, is refused before
its credentials are even looked at: a foreign page could otherwise have a browser post
``text/plain`` GraphQL (a "simple" request with no CORS preflight) with Basic credentials
the browser remembered, or log the browser in to someone else's account (login CSRF).

``Origin: null`` is what a browser sends for a form posted from a page with
``Referrer-Policy: no-referrer`` (the login page has it, so the one-time code in its URL
never leaks) and from sandboxed frames: it is allowed only on the login form, which
carries a double-submit token (:mod:`nbtrack.server.pages` checks it).
"""

from __future__ import annotations

import urllib.parse
from email.message import Message

__all__ = ["refusal"]


_DEFAULT_PORT = {"http": 80, "https": 443}


def _same_host(origin: str, host_header: str) -> bool:
    """True when ``origin`` names the host and port the request was sent to (``Host``), a
    default port written or not (``https://a`` is ``a:443``; a proxy may drop it)."""
    o = urllib.parse.urlsplit(origin)
    if o.scheme not in _DEFAULT_PORT or not o.hostname:
        return False
    try:
        h = urllib.parse.urlsplit("//" + host_header)
        o_port, h_port = o.port, h.port
    except ValueError:
        return False
    default = _DEFAULT_PORT[o.scheme]
    return o.hostname == h.hostname and (o_port or default) == (h_port or default)


def refusal(headers: Message, *, null_origin_ok: bool = False) -> str | None:
    """Why this state-changing request looks forged by another site, or None when it does
    not (no browser, or a browser on this server's own pages)."""
    site = (headers.get("Sec-Fetch-Site") or "").lower()
    origin = headers.get("Origin")
    if site == "cross-site":
        return "cross-site request refused (Sec-Fetch-Site: cross-site)"
    if origin is None:
        return None
    if origin == "null":
        return None if null_origin_ok else "cross-origin request refused (Origin: null)"
    if not _same_host(origin, headers.get("Host") or ""):
        return f"cross-origin request refused: Origin {origin!r} is not this server"
    return None

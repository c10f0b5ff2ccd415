"""Every link nbtrack prints for a person to open, built in one place.

Why one place: a printed link is only useful if the reader's browser can open it and lands
on the page, not on a login form. Two cases:

- Inside Jupyter, nbtrack's server extension exports ``NBTRACK_JUPYTER_PAGES``, the
  ABSOLUTE ``<jupyter url><base_url>nbtrack/`` a browser reaches (:func:`jupyter_pages_root`),
  to the kernels (and terminals) it starts. A link there goes through Jupyter's own login,
  which the reader already has; the tracking server itself may be unreachable (a hub).
- Elsewhere (a script, an nbclient kernel, the CLI) the link goes to the tracking server's
  ``/pages/`` with a one-time login code asked from the server with the caller's key (safe
  to print: it is not the key, expires and is spent by the first login). When no code can
  be had, the line says how to get in instead.
"""

from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nbtrack.wire import statefile, urls
from nbtrack.wire.datadir import default_root
from nbtrack.wire.discovery import ENV_BASE_URL

log = logging.getLogger("nbtrack.client.links")

ENV_PAGES = "NBTRACK_JUPYTER_PAGES"
CODE_TIMEOUT = 5.0  # seconds for the login code: a printed line must not hang


@dataclass(frozen=True)
class Link:
    """A URL to open, and how to get in when the URL alone does not log the reader in."""

    url: str
    how: str = ""

    def __str__(self) -> str:
        return f"{self.url} ({self.how})" if self.how else self.url


def jupyter_pages_root(base_url: str, connection_url: str, display_url: str = "",
                       env: Mapping[str, str] | None = None) -> str:
    """The absolute ``…/<base_url>nbtrack/`` a browser opens, as the extension exports it.

    The origin is, first found: behind a JupyterHub, this server's public URL
    (``JUPYTERHUB_PUBLIC_URL``, which the hub sets when its ``public_url`` is configured, with
    the user's subdomain if any); the origin of Jupyter's ``custom_display_url`` (set for
    proxies and containers); Jupyter's own connection URL. The path is always Jupyter's
    ``base_url`` (behind a hub the server's prefix, ``/user/<name>/``). An origin that is not
    http(s) (a unix socket) gives the relative root: better a path than a link no browser
    opens.
    """
    env = os.environ if env is None else env
    path = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    for candidate in (env.get("JUPYTERHUB_PUBLIC_URL", ""), display_url, connection_url):
        parts = urllib.parse.urlsplit(candidate or "")
        if parts.scheme in ("http", "https") and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}{path}nbtrack/"
    return f"{path}nbtrack/"


def target_of(entity: str | None = None, project: str | None = None,
              run_id: str | None = None) -> str:
    """The pages path of a run (``runs/<e>/<p>/<id>``, each part quoted), or ``""`` (the runs
    table) when any part is missing."""
    parts = [entity, project, run_id]
    if not all(isinstance(p, str) and p for p in parts):
        return ""
    return "runs/" + "/".join(urllib.parse.quote(str(p), safe="") for p in parts)


def _state_url() -> str | None:
    """The local server's URL from its state file (no health check: only compared)."""
    state = statefile.read_state(statefile.path(default_root()))
    url = state.get("url") if state else None
    return url.rstrip("/") if isinstance(url, str) else None


def _extension_server() -> str | None:
    """The tracking server the Jupyter extension reads from, found the way it finds it."""
    env = os.environ.get(ENV_BASE_URL)
    return env.rstrip("/") if env else _state_url()


def jupyter_root(server_url: str | None = None) -> str | None:
    """Jupyter's pages root when this process was started by a Jupyter server with the
    extension, and the run's server (if known) is the one the extension shows."""
    root = os.environ.get(ENV_PAGES)
    if not root:
        return None
    if server_url and server_url.rstrip("/") != _extension_server():
        return None
    return root if root.endswith("/") else root + "/"


def _how_to_log_in(server_url: str) -> str:
    if server_url.rstrip("/") == _state_url():
        return "to log in, `nbtrack ui` prints a one-time link"
    return "log in with your API key"


def login_link(server_url: str, api_key: str, target: str = "") -> str:
    """A one-time login link to ``target`` on the server; raises when the server gives no
    code (``nbtrack.client.readapi.ApiError``)."""
    from nbtrack.client.readapi import Api

    api = Api(server_url, api_key, timeout=CODE_TIMEOUT, max_retry_time=CODE_TIMEOUT)
    try:
        return api.login_url(target)
    finally:
        api.close()


def link_to(target: str, *, server_url: str | None, api_key: str | None = None,
            run_url: str | None = None) -> Link | None:
    """The link for ``target`` (a pages path: ``""`` or ``runs/<e>/<p>/<id>``).

    Through Jupyter when :func:`jupyter_root` says so; else, with ``api_key``, a one-time
    login link on ``server_url``; else the page on the server (``run_url`` when given: a
    W&B-style server has its own page) and how to log in. None without any server.
    """
    root = jupyter_root(server_url)
    if root is not None:
        return Link(root + target)
    if not server_url:  # only the run's URL is known: its origin is the server
        if not run_url:
            return None
        parts = urllib.parse.urlsplit(run_url)
        return Link(run_url, _how_to_log_in(f"{parts.scheme}://{parts.netloc}"))
    if api_key:
        from nbtrack.client.readapi import ApiError

        try:
            return Link(login_link(server_url, api_key, target))
        except (ApiError, ValueError, KeyError):  # an older or W&B-style server:
            log.debug("no login code from %s; saying how to log in instead", server_url)
    url = run_url or f"{server_url.rstrip('/')}{urls.PAGES}{target}"
    return Link(url, _how_to_log_in(server_url))


def for_run(run: Any, *, login: bool = True) -> Link | None:
    """The link to a run's page. ``login=False`` never asks the server for a code (an HTML
    ``href`` that is kept in the notebook, rendered on every display). None when the run
    has no server (offline, disabled)."""
    url = getattr(run, "url", None) or None
    if url is None:
        return None
    credentials = getattr(run, "_link_credentials", None)
    server_url, api_key = credentials() if callable(credentials) else (None, None)
    target = target_of(getattr(run, "entity", None), getattr(run, "project", None),
                       getattr(run, "id", None))
    root = jupyter_root(server_url)
    if root is not None and target:
        return Link(root + target)
    if not login:
        return Link(url)
    return link_to(target, server_url=server_url, api_key=api_key, run_url=url)

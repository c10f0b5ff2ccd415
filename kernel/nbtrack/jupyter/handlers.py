"""Tornado handlers of the extension: pages, static files and a read-only API proxy.

Every handler needs Jupyter's login (``@tornado.web.authenticated``) and its authorizer
(``@authorized``, resource ``nbtrack``). The API proxy forwards GET requests to allow-listed
read API paths of the tracking server, adds the server's token itself (the browser never
sees it), bounds time and size, and passes back only a content type and the body.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from nbtrack.client import links
from nbtrack.pages import shell as pages
from nbtrack.wire import urls
from nbtrack.wire.mediatypes import inline_type

log = logging.getLogger("nbtrack.jupyter")

RESOURCE = "nbtrack"
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 256 * 1024 * 1024
TIMEOUT = 20.0
CONNECT_TIMEOUT = 3.0
DISCOVERY_TTL = 5.0
ENV_PAGES = links.ENV_PAGES


@dataclass(frozen=True)
class Upstream:
    url: str
    token: str = ""

    @property
    def auth_header(self) -> str:
        return "Basic " + base64.b64encode(f"api:{self.token}".encode()).decode()


class Discovery:
    """Finds the tracking server like the kernel does; re-checks every few seconds."""

    def __init__(self) -> None:
        self._found: Upstream | None = None
        self._checked = 0.0
        self._lock = asyncio.Lock()
        self.detail = ""

    def forget(self) -> None:
        self._checked = 0.0

    def _find(self) -> Upstream | None:
        from nbtrack.client.localserver import ServerNotFound, resolve_server

        try:
            url, key = resolve_server(start=False)  # never starts a server from Jupyter
        except ServerNotFound as exc:
            self.detail = str(exc)
            return None
        self.detail = ""
        return Upstream(url, key)

    async def get(self) -> Upstream | None:
        async with self._lock:
            if time.monotonic() - self._checked > DISCOVERY_TTL:
                self._found = await asyncio.get_running_loop().run_in_executor(None, self._find)
                self._checked = time.monotonic()
            return self._found


class Base(JupyterHandler):
    auth_resource = RESOURCE

    @property
    def nbtrack_root(self) -> str:
        return str(url_path_join(self.base_url, "nbtrack/"))

    @property
    def discovery(self) -> Discovery:
        found: Discovery = self.settings["nbtrack_discovery"]
        return found

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")


class PageHandler(Base):
    @web.authenticated
    @authorized
    async def get(self, rest: str = "") -> None:
        view = pages.view_of(rest or "")
        if view is None:
            raise web.HTTPError(404)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        if await self.discovery.get() is None:
            self.set_status(503)
            self.finish(pages.no_server_page(self.nbtrack_root, self.discovery.detail))
            return
        self.finish(pages.shell(self.nbtrack_root, view))


class StaticHandler(Base):
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        found = pages.static_file(name)
        if found is None:
            raise web.HTTPError(404)
        path, ctype = found
        self.set_header("Content-Type", ctype)
        self.set_header("Cache-Control", "no-cache")
        self.finish(path.read_bytes())


class PingHandler(APIHandler):
    auth_resource = RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        found = await self.settings["nbtrack_discovery"].get()
        self.finish({"nbtrack": True, "server": found is not None})


class ApiHandler(APIHandler):
    """GET ``<base>nbtrack/api/<read API path>`` → the tracking server's ``/api/v1/...``."""

    auth_resource = RESOURCE

    @web.authenticated
    @authorized
    async def get(self, _: str) -> None:
        prefix = url_path_join(self.base_url, "nbtrack/api/")
        raw = self.request.path
        target = pages.api_path(raw[len(prefix) :]) if raw.startswith(prefix) else None
        if target is None:
            self.set_status(400)
            self.finish({"error": "not a readable nbtrack path"})
            return
        upstream = await self.settings["nbtrack_discovery"].get()
        if upstream is None:
            self.set_status(503)
            self.finish({"error": "no nbtrack server is running",
                         "hint": "start one with `nbtrack server`"})
            return
        is_file = target.count("/") >= 5 and target.split("/")[4] == "files"
        query = pages.api_query(_arguments(self.request.query_arguments))
        url = f"{upstream.url}{urls.API}{target}" + (f"?{query}" if query else "")
        limit = MAX_FILE_BYTES if is_file else MAX_JSON_BYTES
        client: AsyncHTTPClient = self.settings["nbtrack_http"]
        chunks: list[bytes] = []
        size = 0

        def collect(chunk: bytes) -> None:
            nonlocal size
            size += len(chunk)
            if size > limit:
                raise ValueError("response too large")
            chunks.append(chunk)

        req = HTTPRequest(
            url, method="GET", headers={"Authorization": upstream.auth_header},
            request_timeout=TIMEOUT, connect_timeout=CONNECT_TIMEOUT,
            follow_redirects=False, streaming_callback=collect, decompress_response=True,
        )
        try:
            resp = await client.fetch(req, raise_error=False)
        except ValueError:
            self.set_status(502)
            self.finish({"error": f"the answer is larger than {limit} bytes"})
            return
        except (OSError, HTTPClientError, asyncio.TimeoutError) as e:
            self.discovery_forget()
            log.warning("nbtrack server at %s did not answer: %s", upstream.url, type(e).__name__)
            self.set_status(503)
            self.finish({"error": "the nbtrack server did not answer",
                         "hint": "start one with `nbtrack server`"})
            return
        if resp.code == 599:  # connection-level failure (refused, timeout, reset)
            self.discovery_forget()
            self.set_status(503 if size <= limit else 502)
            self.finish({"error": "the nbtrack server did not answer",
                         "hint": "start one with `nbtrack server`"})
            return
        if resp.code in (401, 403):
            self.set_status(502)
            self.finish({"error": "the nbtrack server refused the key this Jupyter server has"})
            return
        self.set_status(resp.code if resp.code in (200, 400, 404, 413) else 502)
        self.set_header("Cache-Control", "no-store")
        ctype = "application/json"
        inline = inline_type(urlsafe_name(target.rsplit("/", 1)[-1])) if is_file else None
        if inline is not None and resp.code == 200:  # a logged image or table JSON
            ctype = inline
        elif is_file and resp.code == 200:
            name = urlsafe_name(target.rsplit("/", 1)[-1])
            ctype = "application/octet-stream"
            self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        # APIHandler.finish sets the content type itself (JSON unless told)
        self.finish(b"".join(chunks), set_content_type=ctype)

    def discovery_forget(self) -> None:
        self.settings["nbtrack_discovery"].forget()


def urlsafe_name(quoted: str) -> str:
    import urllib.parse

    name = urllib.parse.unquote(quoted).rsplit("/", 1)[-1]
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "file"


def _arguments(args: dict[str, list[bytes]]) -> dict[str, list[str]]:
    return {k: [v.decode("utf-8", "replace") for v in vs] for k, vs in args.items()}


def load(serverapp: Any) -> None:
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.settings["nbtrack_discovery"] = Discovery()
    web_app.settings["nbtrack_http"] = AsyncHTTPClient(
        force_instance=True, max_body_size=MAX_FILE_BYTES + 1, max_buffer_size=MAX_FILE_BYTES + 1
    )
    root = url_path_join(base_url, "nbtrack")
    web_app.add_handlers(
        ".*$",
        [
            (root + "/?", PageHandler),
            (root + "/(compare)/?", PageHandler),
            (root + r"/(runs/[^?#]+)", PageHandler),
            (root + "/ping", PingHandler),
            (root + "/static/(.+)", StaticHandler),
            (root + "/api/(.*)", ApiHandler),
        ],
    )
    export_pages_root(serverapp)
    # The port is final only once the server bound it (after extensions load, and port
    # retries may move it): export again when the loop starts, before any kernel can.
    loop = getattr(serverapp, "io_loop", None)
    if loop is not None:
        loop.add_callback(export_pages_root, serverapp)


def export_pages_root(serverapp: Any) -> str:
    """Put the absolute pages root in this process's environment: kernels and terminals
    this server starts inherit it, and every link nbtrack prints there goes through Jupyter
    (:mod:`nbtrack.client.links`). The one place that says where the pages are for a browser."""
    root = links.jupyter_pages_root(
        serverapp.web_app.settings["base_url"], str(getattr(serverapp, "connection_url", "")),
        str(getattr(serverapp, "custom_display_url", "") or ""))
    if os.environ.get(ENV_PAGES) != root:
        os.environ[ENV_PAGES] = root
        serverapp.log.info("nbtrack: run pages at %s", root)
    return root

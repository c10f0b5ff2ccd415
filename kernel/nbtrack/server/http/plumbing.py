"""One HTTP exchange: answering, refusing unread bodies, Basic auth and body-size limits.

HTTP/1.1 keep-alive: every answer has a Content-Length, and a request whose body is
refused unread (401, 411, 413) closes the connection so no stray bytes are parsed as
the next request. Every JSON answer is strict JSON (:mod:`nbtrack.wire.strictjson`).
"""

from __future__ import annotations

import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from nbtrack.server import auth
from nbtrack.server.context import ServerContext, log
from nbtrack.server.http import bodylimits, proxies
from nbtrack.wire import strictjson

_SIG = re.compile(r"\b(sig|token)=[^&\s\"]+")


class Server(ThreadingHTTPServer):
    """One thread per connection, every handler sharing ``ctx``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], ctx: ServerContext, handler: type[RequestIO]
    ) -> None:
        self.ctx = ctx
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up is routine; anything else is logged with its traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            log.debug("client %s went away: %s", client_address, exc)
        else:
            log.exception("error while serving %s", client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


class RequestIO(BaseHTTPRequestHandler):
    """The request plumbing the routes are written with; ``ctx`` is the server's state."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, a kept-alive
    # connection waits for the client's delayed ACK (~40 ms) before each body.
    disable_nagle_algorithm = True
    timeout = 600  # seconds a silent connection may hold its thread (keep-alive idles included)
    server_version = "nbtrack"
    server: Server
    principal: auth.Principal | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Access log at debug level, upload signatures redacted (headers are never logged)."""
        log.debug("%s %s", self.address_string(), _SIG.sub(r"\1=***", format % args))

    @property
    def ctx(self) -> ServerContext:
        return self.server.ctx

    def _send(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        headers = dict(headers)
        self._send(status, body, headers.pop("Content-Type", "text/plain"), headers)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, strictjson.dumps(value), headers=headers)

    def _refuse(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        """Answer without reading the body, and close the connection."""
        self.close_connection = True
        self._json(status, {"error": message}, headers)

    def _authorized(self) -> bool:
        """Authenticate HTTP Basic ``api:<key>``; the caller is kept in ``self.principal``."""
        self.principal = None
        password = auth.password_of(self.headers.get("Authorization", ""))
        if password is None:
            return False
        self.principal = auth.authenticate(
            self.ctx.storage, password, self.ctx.token, self.ctx.entity
        )
        return self.principal is not None

    def _require_auth(self) -> bool:
        if self._authorized():
            return True
        self._refuse(401, "unauthorized", {"WWW-Authenticate": 'Basic realm="nbtrack"'})
        return False

    def _length(self, limit: int) -> int | None:
        """The body length, or None after answering 411 / 413 / 400."""
        raw = self.headers.get("Content-Length")
        if raw is None:
            if self.headers.get("Transfer-Encoding"):
                self._refuse(411, "chunked bodies are not supported: send Content-Length")
            else:
                self._refuse(411, "Content-Length required")
            return None
        try:
            length = int(raw)
        except ValueError:
            self._refuse(400, "invalid Content-Length")
            return None
        if length < 0:
            self._refuse(400, "invalid Content-Length")
            return None
        if length > limit:
            self._refuse(413, f"body too large: {length} bytes, the limit is {limit}")
            return None
        return length

    def _read_json(self) -> tuple[bool, Any]:
        length = self._length(self.ctx.max_body_bytes)
        if length is None:
            return False, None
        try:
            return True, bodylimits.loads(self.rfile.read(length))
        except bodylimits.BodyRefused as e:
            self._json(400, {"error": str(e)})
            return False, None

    def origin(self) -> proxies.Origin:
        """Scheme, host and client address, from a trusted proxy's headers when there is one."""
        return proxies.origin(self.client_address[0], self.headers, self.ctx.trusted_proxies)

    def address_string(self) -> str:
        """The client for the access log (a request line too bad to parse has no headers)."""
        if getattr(self, "headers", None) is None:
            return str(self.client_address[0])
        return self.origin().client

    def _base_url(self) -> str:
        """The URL the client used to reach us (behind a trusted TLS proxy: ``https://``)."""
        o = self.origin()
        return f"{o.scheme}://{o.host}" if o.host else self.server.url

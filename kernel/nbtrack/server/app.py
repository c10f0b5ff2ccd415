"""The HTTP server: routing, Basic auth and body-size limits on top of ThreadingHTTPServer.

HTTP/1.1 keep-alive: every answer has a Content-Length, and a request whose body is
refused unread (401, 411, 413) closes the connection so no stray bytes are parsed as
the next request.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nbtrack.server import auth, filestream, pages, readapi, resolvers, uploads, wirejson
from nbtrack.server.context import ServerContext, log

# W&B clients post OpenTelemetry metrics/logs here, without credentials: accepted, dropped
_TELEMETRY_PREFIX = "/sdk/otel/"
_SIG = re.compile(r"\b(sig|token)=[^&\s\"]+")
_FILE_STREAM = re.compile(r"^/files/([^/]+)/([^/]+)/([^/]+)/file_stream/?$")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], ctx: ServerContext) -> None:
        self.ctx = ctx
        super().__init__(address, Handler)

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on, a kept-alive
    # connection waits for the client's delayed ACK (~40 ms) before each body.
    disable_nagle_algorithm = True
    timeout = 600  # seconds a silent connection may hold its thread (keep-alive idles included)
    server_version = "nbtrack"
    server: Server
    principal: auth.Principal | None = None

    # ---------------------------------------------------------------- plumbing

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
        self._send(status, wirejson.dumps(value), headers=headers)

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
        raw = self.rfile.read(length)
        try:
            return True, json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            self._json(400, {"error": "the body is not valid JSON"})
            return False, None

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.url

    # ---------------------------------------------------------------- routes

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/healthz":
            self._json(200, {"ok": True, "pid": os.getpid(), "version": self.ctx.version})
            return
        if pages.handles(path):  # the run pages: their own cookie login
            self._reply(*pages.get(self.ctx, path, query, self.headers.get("Cookie", "")))
            return
        if not self._require_auth():
            return
        if path.startswith("/api/v1/"):
            status, value = readapi.handle(
                self.ctx, path[len("/api/v1/") :], query, principal=self.principal
            )
            if isinstance(value, Path):
                self._send_file(value)
            else:
                self._json(status, value)
            return
        self._json(404, {"error": "not found"})

    do_HEAD = do_GET

    def _send_file(self, path: Path) -> None:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if self.command != "HEAD":
                shutil.copyfileobj(f, self.wfile)

    def do_POST(self) -> None:
        path = self.path.partition("?")[0]
        if path.startswith(_TELEMETRY_PREFIX):
            self._discard()
            return
        if pages.handles(path):  # the pages' login form
            length = self._length(64 * 1024)
            if length is not None:
                self._reply(*pages.post(self.ctx, path, self.rfile.read(length)))
            return
        if not self._require_auth():
            return
        if path == pages.CODE_PATH:  # a one-time pages login for the caller's principal
            length = self._length(64 * 1024)
            if length is not None:
                self.rfile.read(length)  # the body, if any, is not needed
                assert self.principal is not None
                self._reply(*pages.issue_code(self.principal))
            return
        if path.startswith("/api/v1/"):
            length = self._length(self.ctx.max_body_bytes)
            if length is None:
                return
            self.rfile.read(length)  # the body, if any, is not needed
            status, value = readapi.post(
                self.ctx, path[len("/api/v1/") :], principal=self.principal
            )
            self._json(status, value)
            return
        if path != "/graphql" and not _FILE_STREAM.match(path):
            self._refuse(404, "not found")
            return
        ok, body = self._read_json()
        if not ok:
            return
        if path == "/graphql":
            req = resolvers.Request(self.ctx, self._base_url(), self.principal)
            answer = resolvers.execute(req, body)
            self._json(403 if resolvers.denied(answer) else 200, answer)
            return
        m = _FILE_STREAM.match(path)
        assert m is not None
        entity, project, run = (urllib.parse.unquote(g) for g in m.groups())
        if self.principal is not None and not self.principal.can(entity):
            self._json(403, {"error": f"permission denied: entity {entity!r} is not yours"})
            return
        status, answer = filestream.handle(self.ctx, entity, project, run, body)
        self._json(status, answer)

    def _discard(self) -> None:
        """Accept and drop client telemetry (W&B clients export OpenTelemetry here)."""
        length = self._length(self.ctx.max_body_bytes)
        if length is None:
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)
        self._json(200, {})

    def do_PUT(self) -> None:
        raw_path, _, query = self.path.partition("?")
        if not raw_path.startswith(uploads.UPLOAD_PREFIX):
            self._refuse(404, "not found")
            return
        signed = uploads.verify(self.ctx.upload_secret, raw_path, query)
        if not signed and not self._authorized():
            self._refuse(403, "invalid or expired upload signature")
            return
        parsed = uploads.split_upload_path(raw_path)
        if parsed is None:
            self._refuse(400, "invalid file path")
            return
        entity, project, run_name, name = parsed
        if not signed and self.principal is not None and not self.principal.can(entity):
            self._refuse(403, f"permission denied: entity {entity!r} is not yours")
            return
        run = self.ctx.storage.get_run(entity, project, run_name)
        target = uploads.target(self.ctx.files_dir, entity, project, run_name, name)
        if target is None:
            self._refuse(400, "invalid file path")
            return
        if run is None:
            self._refuse(404, f"run {entity}/{project}/{run_name} not found")
            return
        length = self._length(self.ctx.max_upload_bytes)
        if length is None:
            return
        start = time.monotonic()
        try:
            size = self.ctx.files.write(entity, project, run_name, name, self.rfile, length)
        except (ConnectionError, OSError) as e:
            log.warning("upload of %s failed: %s", name, e)
            self._refuse(400 if isinstance(e, ConnectionError) else 500, "upload failed")
            return
        self.ctx.storage.record_file(int(run["rid"]), name, size)
        log.debug("stored %s (%d bytes) in %.3fs", name, size, time.monotonic() - start)
        self._json(200, {"ok": True, "size": size})

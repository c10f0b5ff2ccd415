"""A fault-injecting HTTP proxy for tests: forwards to a real server, or fails on cue.

Only for faults a real server can't produce on demand (503/429 bursts, a
response lost after the server committed the request, refused connections).
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


@dataclass
class Fault:
    """What to do with the next requests: a status to answer, or drop after forwarding.

    ``body`` / ``content_type`` replace the injected answer (a captive portal's 200 HTML
    page); ``when(path, body)`` makes the fault wait for a request it matches (requests
    before it pass), e.g. the first ``file_stream`` post that carries history rows.
    """

    status: int = 0
    retry_after: str | None = None
    drop_after_forward: bool = False
    body: bytes | None = None
    content_type: str = "application/json"
    when: Callable[[str, bytes], bool] | None = None


@dataclass
class ProxyState:
    faults: list[Fault] = field(default_factory=list)
    fail_all_status: int = 0
    log: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, path: str = "", body: bytes = b"") -> Fault | None:
        with self.lock:
            if self.fail_all_status:
                return Fault(status=self.fail_all_status)
            if not self.faults:
                return None
            when = self.faults[0].when
            if when is not None and not when(path, body):
                return None
            return self.faults.pop(0)

    def pending(self) -> int:
        """Faults injected and not yet used."""
        with self.lock:
            return len(self.faults)


class FaultProxy:
    """``FaultProxy(upstream_url)``; ``.url`` is what the client talks to."""

    def __init__(self, upstream: str, match: Callable[[str], bool] | None = None) -> None:
        self.state = ProxyState()
        self._upstream = urlparse(upstream)
        self._match = match or (lambda path: True)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = (proxy.state.next_fault(self.path, body)
                         if proxy._match(self.path) else None)
                if fault is not None and fault.status:
                    proxy.state.log.append((self.command, self.path, fault.status))
                    payload = b'{"error": "injected"}' if fault.body is None else fault.body
                    self.send_response(fault.status)
                    if fault.retry_after is not None:
                        self.send_header("Retry-After", fault.retry_after)
                    self.send_header("Content-Type", fault.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy._upstream.hostname,
                                                  proxy._upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                proxy.state.log.append((self.command, self.path, resp.status))
                if fault is not None and fault.drop_after_forward:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def inject(self, *faults: Fault) -> None:
        with self.state.lock:
            self.state.faults.extend(faults)

    def fail_all(self, status: int) -> None:
        """Answer every request with ``status`` until ``heal``."""
        self.state.fail_all_status = status

    def heal(self) -> None:
        self.state.fail_all_status = 0
        with self.state.lock:
            self.state.faults.clear()

    def injected(self) -> int:
        return sum(1 for _m, _p, status in self.state.log if status in (429, 500, 502, 503))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

"""Transports: one request in, one response out; nothing else.

A transport is ``handle_request(request) -> Response`` plus ``close()``. It sends
exactly once: no retries, no auth, no status bookkeeping (that is
:class:`~nbtrack.client.httpclient.HTTPClient`'s job, above it). When the request got
no HTTP answer it raises a :class:`~nbtrack.client.errors.NetworkError`, so the layers
above never see the HTTP library's own exceptions.

:class:`HTTPTransport` is the real one (``requests``, one session per thread);
:class:`MockTransport` hands each request to a function, for tests that need no socket.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, Protocol

import requests

from nbtrack.client.errors import (
    ConnectError,
    InvalidURL,
    NetworkError,
    NetworkTimeout,
    ProtocolError,
    ReadError,
    TLSError,
)

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Request:
    """One HTTP request as a transport sees it. ``timeout`` is the read timeout (s)."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes | BinaryIO | None = None
    timeout: float = 10.0


class Response:
    """A complete HTTP answer: status, headers (case-insensitive) and the whole body."""

    def __init__(
        self,
        status_code: int,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes = b"",
        json: Any = None,
    ) -> None:
        self.status_code = status_code
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        if json is not None:
            content = _dumps(json)
            self.headers.setdefault("content-type", "application/json")
        self.content = content

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` when it is not."""
        return json.loads(self.content)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


class BaseTransport(Protocol):
    """What :class:`~nbtrack.client.httpclient.HTTPClient` needs from a transport."""

    def handle_request(self, request: Request) -> Response: ...

    def close(self) -> None: ...


class MockTransport:
    """Answers every request with ``handler(request)``, no socket involved.

    A streamed body (an upload's file) is read first, so the handler always sees
    ``request.content`` as bytes (or None). The handler may raise a
    :class:`~nbtrack.client.errors.NetworkError` (or ``ConnectionResetError``) to act
    out a request that got no answer.
    """

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self.handler = handler
        self.closed = False

    def handle_request(self, request: Request) -> Response:
        content = request.content
        if content is not None and not isinstance(content, bytes):
            request = replace(request, content=content.read())
        return self.handler(request)

    def close(self) -> None:
        self.closed = True


class HTTPTransport:
    """HTTP over ``requests``; thread-safe, one ``requests.Session`` per thread.

    ``close()`` closes every session, which also ends the keep-alive connections.
    """

    def __init__(self, *, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def handle_request(self, request: Request) -> Response:
        try:
            r = self._session().request(
                request.method,
                request.url,
                data=request.content,
                headers=dict(request.headers),
                timeout=(self.connect_timeout, request.timeout),
            )
            content = r.content  # read it all here: a cut body is a ReadError too
        except requests.RequestException as e:
            raise map_requests_error(e) from e
        return Response(r.status_code, headers=dict(r.headers), content=content)

    def close(self) -> None:
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            with contextlib.suppress(Exception):
                s.close()

    def _session(self) -> requests.Session:
        s: requests.Session | None = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            self._local.session = s
            with self._sessions_lock:
                self._sessions.append(s)
        return s


def map_requests_error(exc: requests.RequestException) -> NetworkError:
    """The :class:`NetworkError` for one of ``requests``' exceptions (kind = its name)."""
    kind = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):  # before ConnectionError: a subclass
        return TLSError(kind)
    if isinstance(exc, requests.exceptions.InvalidURL):
        return InvalidURL(kind)
    if isinstance(exc, requests.Timeout):  # ConnectTimeout is a ConnectionError too
        return NetworkTimeout(kind)
    if isinstance(exc, requests.ConnectionError):
        return ConnectError(kind)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return ReadError(kind)
    return ProtocolError(kind)

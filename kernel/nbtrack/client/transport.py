"""HTTP to a W&B-compatible server: GraphQL, file_stream and uploads, with retries.

Only the sender's worker threads call into this module; nothing here runs in the
user's thread. Every request has a timeout (connect 5 s, read ``timeout``).

Retry policy (a pure function, :func:`classify`): connection errors, timeouts,
408, 429 and 5xx are retried with exponential backoff and full jitter (base
0.5 s, cap 30 s) honouring ``Retry-After``, until success, ``close()`` or
``max_retry_time``; every other status fails at once with a
:class:`TransportError` carrying the status. The current trouble is visible
through :class:`NetStatus`. Messages never contain the API key or the query
string of a (signed) upload URL.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Literal

import requests

log = logging.getLogger("nbtrack.pipeline.sender.stage")

CONNECT_TIMEOUT = 5.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
_MAX_ERROR_TEXT = 300

Verdict = Literal["retry", "fail"]


class TransportError(Exception):
    """A request that failed for good (or was aborted by ``close()``)."""

    def __init__(self, message: str, status: int | None = None, *, aborted: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.aborted = aborted  # True when close() or max_retry_time ended the retries

    @property
    def message(self) -> str:
        return str(self)


def classify(status: int | None, exc: BaseException | None) -> Verdict:
    """Whether a failed request is worth retrying.

    ``status`` is the HTTP status when the server answered; ``exc`` the exception
    when it did not (connection refused / reset, timeout).
    """
    if status is None:
        if exc is None:
            return "fail"
        if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.InvalidURL):
            return "fail"  # a bad certificate or URL does not heal by waiting
        if isinstance(
            exc,
            requests.ConnectionError
            | requests.Timeout
            | ConnectionError
            | TimeoutError
            | requests.exceptions.ChunkedEncodingError,
        ):
            return "retry"
        return "fail"
    if status in (408, 429) or 500 <= status <= 599:
        return "retry"
    return "fail"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def backoff_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base: float = BACKOFF_BASE,
    cap: float = BACKOFF_CAP,
    rand: Callable[[], float] = random.random,
) -> float:
    """The wait before retry number ``attempt`` (1 = the first retry).

    Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]. A server's
    ``Retry-After`` wins when given, still bounded by ``cap``.
    """
    if retry_after is not None:
        return min(cap, max(0.0, retry_after))
    ceiling = min(cap, base * (2 ** min(max(attempt - 1, 0), 30)))
    return rand() * ceiling


def _redact_url(url: str) -> str:
    """The URL without query string / fragment / credentials (signed URLs carry tokens)."""
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<url>"


class NetStatus:
    """Thread-safe picture of the network trouble, for ``network_status``.

    ``state``: "retrying" while any call is in a retry loop; else "failed" if
    something failed for good (data not accepted by the server); else "ok".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._retrying = 0  # calls currently inside a retry loop
        self.last_status = 0
        self.retry_count = 0
        self.last_error = ""
        self.since = 0.0
        self.failures = 0  # requests that failed for good
        self.dropped_lines = 0  # file-stream lines the server refused for good
        self.failed_files = 0
        self.pending_bytes = 0

    # -- updates from the transport -----------------------------------------
    def _enter_trouble(self) -> None:
        if self.since == 0.0:
            self.since = time.time()

    def begin_retry(self, status: int | None, error: str) -> None:
        with self._lock:
            self._enter_trouble()
            self.retry_count += 1
            self.last_status = status or 0
            self.last_error = error

    def retrying_started(self) -> None:
        with self._lock:
            self._retrying += 1

    def retrying_ended(self) -> None:
        with self._lock:
            self._retrying = max(0, self._retrying - 1)

    def success(self, status: int) -> None:
        with self._lock:
            if self._retrying == 0 and self.failures == 0:
                self.since = 0.0
            if self.failures == 0:
                self.last_status = status

    def failed(self, status: int | None, error: str) -> None:
        with self._lock:
            self._enter_trouble()
            self.failures += 1
            self.last_status = status or 0
            self.last_error = error

    # -- updates from the workers -------------------------------------------
    def add_dropped_lines(self, n: int, error: str) -> None:
        with self._lock:
            self.dropped_lines += n
            self.last_error = f"{error} ({self.dropped_lines} lines not accepted)"

    def add_failed_file(self, error: str) -> None:
        with self._lock:
            self.failed_files += 1
            self.last_error = error

    def set_pending_bytes(self, n: int) -> None:
        self.pending_bytes = n

    # -- reading ------------------------------------------------------------
    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._retrying > 0:
            return "retrying"
        if self.failures > 0 or self.dropped_lines > 0 or self.failed_files > 0:
            return "failed"
        return "ok"

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self._state(),
                "status_code": self.last_status,
                "retry_count": self.retry_count,
                "error": self.last_error,
                "since": self.since,
                "pending_bytes": self.pending_bytes,
                "failures": self.failures,
                "dropped_lines": self.dropped_lines,
                "failed_files": self.failed_files,
            }


class Transport:
    """One W&B-compatible server. Thread-safe; one ``requests.Session`` per thread."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retry_time: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = ("api", api_key)
        self.timeout = timeout
        self.max_retry_time = max_retry_time
        self.status = NetStatus()
        self._closed = threading.Event()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()
        origin = urllib.parse.urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc)
        # test hook: the sleep between retries (must honour close())
        self._rand: Callable[[], float] = random.random

    # -- lifecycle ------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Abort every retry loop at once and close all sessions. Idempotent."""
        self._closed.set()
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
        for s in sessions:
            with contextlib.suppress(Exception):
                s.close()

    def _session(self) -> requests.Session:
        s: requests.Session | None = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.headers["User-Agent"] = "nbtrack"
            self._local.session = s
            with self._sessions_lock:
                self._sessions.append(s)
        return s

    # -- public calls -----------------------------------------------------------
    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a GraphQL operation; return its ``data``. GraphQL ``errors`` raise."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        resp = self._request(
            "POST",
            f"{self.base_url}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
            what="graphql",
        )
        try:
            answer = resp.json()
        except ValueError as e:
            raise TransportError(
                f"graphql: the server answered {resp.status_code} with a body that is not JSON",
                resp.status_code,
            ) from e
        if not isinstance(answer, dict):
            raise TransportError("graphql: unexpected answer", resp.status_code)
        errors = answer.get("errors")
        if errors:
            msgs = "; ".join(
                str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
            )
            raise TransportError(f"graphql error: {msgs[:_MAX_ERROR_TEXT]}", resp.status_code)
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    def file_stream(
        self, entity: str, project: str, run_id: str, payload: dict[str, Any] | bytes
    ) -> dict[str, Any]:
        """POST one file_stream chunk; ``payload`` may be pre-serialized JSON bytes."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        path = "/".join(urllib.parse.quote(p, safe="") for p in (entity, project, run_id))
        resp = self._request(
            "POST",
            f"{self.base_url}/files/{path}/file_stream",
            data=body,
            headers={"Content-Type": "application/json"},
            what="file_stream",
        )
        try:
            answer = resp.json()
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}

    def upload(self, url: str, path: str | Path, headers: dict[str, str] | None = None) -> int:
        """PUT a file to an upload URL; returns the bytes sent.

        The API key is only sent when the URL points at our server (a presigned
        URL of an object store must not get an Authorization header).
        """
        p = Path(path)
        parts = urllib.parse.urlsplit(url)
        same_origin = (parts.scheme, parts.netloc) == self._origin
        try:
            size = p.stat().st_size
        except OSError as e:
            raise TransportError(f"upload {p.name}: {type(e).__name__}: {e.strerror or e}") from e

        def body() -> BinaryIO:
            return p.open("rb")  # streamed, reopened for every attempt

        self._request(
            "PUT",
            url,
            data=body,
            headers=dict(headers or {}),
            what=f"upload {p.name}",
            auth=same_origin,
        )
        return size

    # -- the retry loop -----------------------------------------------------------
    def _request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | Callable[[], BinaryIO],
        headers: dict[str, str],
        what: str,
        auth: bool = True,
    ) -> requests.Response:
        start = time.monotonic()
        attempt = 0
        in_retry = False
        safe_url = _redact_url(url)
        try:
            while True:
                if self._closed.is_set():
                    raise TransportError(f"{what}: aborted (transport closed)", aborted=True)
                status: int | None = None
                exc: BaseException | None = None
                retry_after: float | None = None
                resp: requests.Response | None = None
                body: bytes | BinaryIO | None = None
                try:
                    body = data() if callable(data) else data
                    resp = self._session().request(
                        method,
                        url,
                        data=body,
                        headers=headers,
                        auth=self._auth if auth else None,
                        timeout=(CONNECT_TIMEOUT, self.timeout),
                    )
                    status = resp.status_code
                except requests.RequestException as e:
                    exc = e
                except OSError as e:  # file vanished etc.: not retried
                    raise TransportError(f"{what}: {type(e).__name__}: {e}") from e
                finally:
                    if body is not None and not isinstance(body, bytes):
                        body.close()
                if status is not None and 200 <= status < 300 and resp is not None:
                    if in_retry:
                        in_retry = False
                        self.status.retrying_ended()
                    self.status.success(status)
                    return resp
                if self._closed.is_set():
                    raise TransportError(
                        f"{what}: aborted (transport closed)", status, aborted=True
                    )
                if resp is not None:
                    text = _body_excerpt(resp)
                    if self._auth[1]:
                        text = text.replace(self._auth[1], "***")
                    error = f"{what}: HTTP {status} from {safe_url}" + (f": {text}" if text else "")
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                else:
                    error = f"{what}: {type(exc).__name__} talking to {safe_url}"
                verdict = classify(status, exc)
                if verdict == "fail":
                    self.status.failed(status, error)
                    log.error("%s (not retried)", error)
                    raise TransportError(error, status)
                attempt += 1
                delay = backoff_delay(attempt, retry_after, rand=self._rand)
                if self.max_retry_time is not None:
                    left = self.max_retry_time - (time.monotonic() - start)
                    if left <= 0:
                        self.status.failed(status, error)
                        log.error(
                            "%s (gave up after %.0f s of retries)", error, self.max_retry_time
                        )
                        raise TransportError(error, status, aborted=True)
                    delay = min(delay, left)
                if not in_retry:
                    in_retry = True
                    self.status.retrying_started()
                self.status.begin_retry(status, error)
                if attempt == 1 or attempt % 10 == 0:
                    log.warning("%s; retry %d in %.1f s", error, attempt, delay)
                if self._closed.wait(delay):
                    raise TransportError(
                        f"{what}: aborted (transport closed)", status, aborted=True
                    )
        finally:
            if in_retry:
                self.status.retrying_ended()


def _body_excerpt(resp: requests.Response) -> str:
    try:
        text = resp.text or ""
    except Exception:  # pragma: no cover
        return ""
    text = " ".join(text.split())
    return text[:_MAX_ERROR_TEXT]

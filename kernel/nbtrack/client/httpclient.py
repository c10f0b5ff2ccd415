"""The one HTTP client: retries, auth, redaction and network status over a transport.

Everything that talks to a tracking server goes through :class:`HTTPClient`: the
sender's W&B calls (:mod:`nbtrack.client.wandbclient`) and the read API
(:mod:`nbtrack.client.readapi`). The policy is :mod:`nbtrack.client.policy`'s pure
functions; the bytes move through a :class:`~nbtrack.client.transports.BaseTransport`
(a real :class:`~nbtrack.client.transports.HTTPTransport` unless one is given, e.g. a
``MockTransport`` in tests). Failures reach the caller as one exception type,
:class:`~nbtrack.client.errors.TransportError` with the status; its message never
contains the API key or the query string of a (signed) URL.
"""

from __future__ import annotations

import base64
import logging
import random as _random
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from nbtrack.client.errors import NetworkError, TransportError
from nbtrack.client.netstatus import NetStatus
from nbtrack.client.policy import (
    backoff_delay,
    classify,
    parse_retry_after,
    redact_text,
    redact_url,
)
from nbtrack.client.transports import BaseTransport, HTTPTransport, Request, Response

MIN_RETRY_DELAY = 0.01  # s

log = logging.getLogger("nbtrack.client")

Body = bytes | Callable[[], BinaryIO] | None  # a callable is reopened for every attempt
# Where the server is now: (base_url, api_key), or None when none is known (see below)
Rediscover = Callable[[], "tuple[str, str] | None"]
# why: with a way to find the server again, a connection error is re-checked this often
# rather than after the policy's growing backoff, so a restarted local server is found
# within a second or so (the state-file read and health check are cheap, local calls)
REDISCOVER_POLL = 1.0


class HTTPClient:
    """Requests to one server, retried by the policy until success, ``close()`` or
    ``max_retry_time``. Thread-safe.

    ``random`` is the jitter source (``random.random`` by default; ``lambda: 0.0`` in
    tests makes retries immediate while ``Retry-After`` is still honoured). The API key
    goes only to URLs of ``base_url``'s origin: a presigned object-store URL must not
    get an Authorization header.

    ``rediscover`` (the local server: :func:`nbtrack.client.localserver.rediscovery`) is
    asked on each connection error where the server is now; when it names another URL or
    key (the server died and another kernel started a new one), requests under
    ``base_url`` move there and are retried at once.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        *,
        timeout: float = 10.0,
        max_retry_time: float | None = None,
        transport: BaseTransport | None = None,
        random: Callable[[], float] = _random.random,
        status: NetStatus | None = None,
        rediscover: Rediscover | None = None,
    ) -> None:
        self._rediscover = rediscover
        self._moving = threading.Lock()
        self.moves = 0  # how many times the server was found elsewhere
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retry_time = max_retry_time
        self.status = status if status is not None else NetStatus()
        self.transport: BaseTransport = transport if transport is not None else HTTPTransport()
        self._random = random
        self._closed = threading.Event()
        self._refusals_logged: set[tuple[str, int | None]] = set()  # (what, status) seen
        self._set_server(self.base_url, api_key)

    def _set_server(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._authorization = "Basic " + base64.b64encode(f"api:{api_key}".encode()).decode()
        origin = urllib.parse.urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc)

    def _moved(self) -> bool:
        """After a connection error: True when the server is now found elsewhere."""
        if self._rediscover is None:
            return False
        with self._moving:
            try:
                found = self._rediscover()
            except Exception:  # finding it again must never break the retry loop
                log.debug("rediscovering the server failed", exc_info=True)
                return False
            if found is None:
                return False
            url, key = found[0].rstrip("/"), found[1] or self._api_key
            if (url, key) == (self.base_url, self._api_key):
                return False
            log.warning("the server moved to %s; requests follow it", redact_url(url))
            self._set_server(url, key)
            self.moves += 1
            return True

    # -- lifecycle ------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Abort every retry loop at once and close the transport. Idempotent."""
        self._closed.set()
        self.transport.close()

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """An absolute URL: ``path`` under ``base_url`` (absolute URLs pass as they are)."""
        url = path if "://" in path else self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        return url

    def same_origin(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        return (parts.scheme, parts.netloc) == self._origin

    # -- requests -------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        content: Body = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        what: str = "",
        check: Callable[[Response], str | None] | None = None,
    ) -> Response:
        """Send until a 2xx answer (returned) or a :class:`TransportError`.

        ``url`` is a path under ``base_url`` or an absolute URL; ``what`` names the
        call in messages (``graphql``, ``upload config.yaml``). ``check`` says why a 2xx
        answer is not a real one (None when it is): such an answer is retried like a 503,
        since a captive portal's 200 page stored nothing.
        """
        relative = "://" not in url
        full = self.url(url, params)
        what = what or method
        safe_url = redact_url(full)
        hdrs = {"User-Agent": "nbtrack", **(headers or {})}
        if self.same_origin(full):
            hdrs["Authorization"] = self._authorization
        start = time.monotonic()
        attempt = 0
        in_retry = False
        try:
            while True:
                if self._closed.is_set():
                    raise _aborted(what, None)
                if relative and (not full.startswith(self.base_url + "/")
                                 or hdrs.get("Authorization") != self._authorization):
                    full = self.url(url, params)  # the server moved (maybe seen by another
                    safe_url = redact_url(full)   # thread's request)
                    hdrs["Authorization"] = self._authorization
                resp, exc = self._send(method, full, hdrs, content, what)
                status = resp.status_code if resp is not None else None
                malformed = check(resp) if resp is not None and resp.ok and check else None
                if resp is not None and resp.ok and malformed is None:
                    if in_retry:
                        in_retry = False
                        self.status.retrying_ended()
                    self.status.success(resp.status_code)
                    return resp
                if self._closed.is_set():
                    raise _aborted(what, status)
                error, retry_after = self._describe(what, safe_url, resp, exc, malformed)
                # unreachable, or a key the server no longer knows (restarted with a new
                # token): where is the server now? (a no-op without ``rediscover``)
                if (resp is None or status == 401) and relative and self._moved():
                    attempt += 1
                    continue  # the next attempt goes to where the server is now
                if malformed is None and classify(status, exc) == "fail":
                    self.status.failed(status, error)
                    self._log_refusal(what, status, error)
                    raise TransportError(error, status)
                attempt += 1
                delay = self._retry_delay(attempt, retry_after, start)
                if delay is not None and resp is None and self._rediscover is not None:
                    delay = min(delay, REDISCOVER_POLL)
                if delay is None:
                    self.status.failed(status, error)
                    log.error("%s (gave up after %.0f s of retries)", error, self.max_retry_time)
                    raise TransportError(error, status, aborted=True)
                if not in_retry:
                    in_retry = True
                    self.status.retrying_started()
                self.status.begin_retry(status, error)
                if attempt == 1 or attempt % 10 == 0:
                    log.warning("%s; retry %d in %.1f s", error, attempt, delay)
                if self._closed.wait(delay):
                    raise _aborted(what, status)
        finally:
            if in_retry:
                self.status.retrying_ended()

    def _retry_delay(self, attempt: int, retry_after: float | None, start: float) -> float | None:
        """The wait before retry ``attempt``; None once ``max_retry_time`` is used up."""
        # never 0: a retry loop must not spin (full jitter can draw ~0; tests draw 0)
        delay = max(backoff_delay(attempt, retry_after, rand=self._random), MIN_RETRY_DELAY)
        if self.max_retry_time is None:
            return delay
        left = self.max_retry_time - (time.monotonic() - start)
        return None if left <= 0 else min(delay, left)

    def _send(
        self, method: str, url: str, headers: dict[str, str], content: Body, what: str
    ) -> tuple[Response | None, BaseException | None]:
        """One attempt: the response, or the exception that stood for it."""
        body: bytes | BinaryIO | None = None
        try:
            body = content() if callable(content) else content
            request = Request(method, url, headers, body, self.timeout)
            return self.transport.handle_request(request), None
        except (NetworkError, ConnectionError, TimeoutError) as e:
            return None, e
        except OSError as e:  # the upload's file vanished etc.: not retried
            raise TransportError(f"{what}: {type(e).__name__}: {e}") from e
        finally:
            if body is not None and not isinstance(body, bytes):
                body.close()

    def _describe(
        self, what: str, safe_url: str, resp: Response | None, exc: BaseException | None,
        malformed: str | None = None,
    ) -> tuple[str, float | None]:
        """The error message for a failed attempt, and the server's ``Retry-After``."""
        if resp is None:
            kind = exc.kind if isinstance(exc, NetworkError) else type(exc).__name__
            return f"{what}: {kind} talking to {safe_url}", None
        if malformed is not None:
            return (f"{what}: HTTP {resp.status_code} from {safe_url} is not a server answer: "
                    f"{malformed} (a captive portal or a proxy?)"), None
        text = redact_text(resp.text, self._api_key)
        error = f"{what}: HTTP {resp.status_code} from {safe_url}" + (f": {text}" if text else "")
        return error, parse_retry_after(resp.header("Retry-After"))


    def _log_refusal(self, what: str, status: int | None, error: str) -> None:
        """The first refusal of each kind at ERROR, the same again at DEBUG: a revoked key
        refuses every post of a long run, and one line says it (the network status and
        finish count the rest)."""
        if (what, status) in self._refusals_logged:
            log.debug("%s (not retried, again)", error)
            return
        if len(self._refusals_logged) < 64:
            self._refusals_logged.add((what, status))
        log.error("%s (not retried)", error)


def _aborted(what: str, status: int | None) -> TransportError:
    return TransportError(f"{what}: aborted (transport closed)", status, aborted=True)

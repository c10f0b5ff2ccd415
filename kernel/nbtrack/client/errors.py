"""The exceptions of the client layer, mapped at its boundaries.

Two kinds, kept apart on purpose: a :class:`NetworkError` is what a transport raises
when a request got no HTTP answer (the client decides whether that is worth a retry);
a :class:`TransportError` is what callers above the client see: the request failed for
good, or ``close()`` / ``max_retry_time`` ended its retries. Nothing of the HTTP
library underneath (``requests``) leaks past the transport.
"""

from __future__ import annotations


class TransportError(Exception):
    """A request that failed for good (or was aborted by ``close()``)."""

    def __init__(self, message: str, status: int | None = None, *, aborted: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.aborted = aborted  # True when close() or max_retry_time ended the retries

    @property
    def message(self) -> str:
        return str(self)


class NetworkError(Exception):
    """No HTTP answer. ``kind`` names the underlying failure (``ConnectionError``,
    ``ReadTimeout``, ...) for messages; the exception's text is never shown, since a
    library's message may carry a signed URL."""

    def __init__(self, kind: str | None = None) -> None:
        self.kind = kind or type(self).__name__
        super().__init__(self.kind)


class ConnectError(NetworkError):
    """Refused, unreachable, reset: the server may come back (retried)."""


class ReadError(NetworkError):
    """The answer was cut off mid-body (retried)."""


class NetworkTimeout(NetworkError):
    """Connecting or reading took longer than the timeout (retried)."""


class TLSError(NetworkError):
    """A bad certificate or TLS handshake: waiting does not heal it (not retried)."""


class InvalidURL(NetworkError):
    """The URL cannot be requested at all (not retried)."""


class ProtocolError(NetworkError):
    """Any other failure to complete the exchange (not retried)."""

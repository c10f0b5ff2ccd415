"""The retry policy and the redaction rules, as pure functions.

Pure so that they are tested exhaustively without a server and shared by every caller
of :class:`~nbtrack.client.httpclient.HTTPClient` (the sender's W&B calls and the read
API). Connection errors, timeouts, 408, 429 and 5xx are retried with exponential
backoff and full jitter (base 0.5 s, cap 30 s) honouring ``Retry-After``; every other
status fails at once. A 2xx whose body is not a well-formed answer (a captive portal's
HTML page, a proxy's error text) is not an acknowledgement: it is retried like a 503.
What a request that failed for good means for the data it carried is :func:`refusal`.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
import urllib.parse
from collections.abc import Callable
from typing import Literal

from nbtrack.client.errors import ConnectError, InvalidURL, NetworkTimeout, ReadError, TLSError

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
MAX_ERROR_TEXT = 300

Verdict = Literal["retry", "fail"]
# what the sender does with the data of a request refused for good (see ``refusal``)
Refusal = Literal["split", "keep", "key"]

# how every "key" refusal's reason begins: finish tells the user to sync with a new key
KEY_REFUSED = "the server refused the API key"


def classify(status: int | None, exc: BaseException | None) -> Verdict:
    """Whether a failed request is worth retrying.

    ``status`` is the HTTP status when the server answered; ``exc`` the exception
    when it did not (a transport's :class:`~nbtrack.client.errors.NetworkError`, or a
    socket's own ``ConnectionError`` / ``TimeoutError``).
    """
    if status is None:
        if exc is None:
            return "fail"
        if isinstance(exc, TLSError | InvalidURL):
            return "fail"  # a bad certificate or URL does not heal by waiting
        if isinstance(
            exc, ConnectError | ReadError | NetworkTimeout | ConnectionError | TimeoutError
        ):
            return "retry"
        return "fail"
    if status in (408, 429) or 500 <= status <= 599:
        return "retry"
    return "fail"


def refusal(status: int | None) -> Refusal:
    """What a ``file_stream`` post or GraphQL update refused for good means for its data.

    ``split``: 413, the body is over the server's limit: post the lines again in smaller
    posts (one line alone over the limit cannot be split and becomes ``keep``). ``key``:
    401/403, the API key is refused: as ``keep``, with a message about the key. ``keep``:
    anything else (400, 404, 409, 422, ...): not retried, but not given up either: the data
    stays in the transaction log, its offsets are never reused, and finish says the run is
    not fully stored and names ``nbtrack sync``.
    """
    if status == 413:
        return "split"
    if status in (401, 403):
        return "key"
    return "keep"


def malformed_answer(content_type: str | None, body: bytes) -> str | None:
    """Why a 2xx answer is not a W&B JSON answer (a JSON object), or None when it is.

    The official client decodes ``file_stream`` and GraphQL answers as JSON objects; an
    HTML page answered with 200 by a captive portal or a proxy stored nothing.
    """
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind and kind != "application/json" and not kind.endswith("+json"):
        return f"the answer is {kind}, not JSON"
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return "the answer is not JSON"
    if not isinstance(value, dict):
        return "the answer is not a JSON object"
    return None


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


def redact_url(url: str) -> str:
    """The URL without query string / fragment / credentials (signed URLs carry tokens)."""
    try:
        parts = urllib.parse.urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<url>"


def redact_text(text: str, secret: str) -> str:
    """``text`` on one line, ``secret`` masked, at most ``MAX_ERROR_TEXT`` characters.

    Masked before it is cut, so a cut never leaves the start of a secret behind.
    """
    text = " ".join(text.split())
    if secret:
        text = text.replace(secret, "***")
    return text[:MAX_ERROR_TEXT]

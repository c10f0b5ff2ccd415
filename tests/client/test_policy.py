"""The pure parts of the client: the retry policy, redaction, NetStatus."""

from __future__ import annotations

import email.utils
import time

import pytest

from nbtrack.client.errors import (
    ConnectError,
    InvalidURL,
    NetworkTimeout,
    ProtocolError,
    ReadError,
    TLSError,
)
from nbtrack.client.netstatus import NetStatus
from nbtrack.client.policy import (
    MAX_ERROR_TEXT,
    backoff_delay,
    classify,
    malformed_answer,
    parse_retry_after,
    redact_text,
    redact_url,
    refusal,
)

# --------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("status", "exc", "verdict"),
    [
        (None, ConnectError("ConnectionError"), "retry"),
        (None, NetworkTimeout("ReadTimeout"), "retry"),
        (None, NetworkTimeout("ConnectTimeout"), "retry"),
        (None, ConnectionResetError(), "retry"),
        (None, TimeoutError(), "retry"),
        (None, ValueError("bug"), "fail"),
        (None, TLSError("SSLError"), "fail"),
        (None, InvalidURL("InvalidURL"), "fail"),
        (None, ProtocolError("TooManyRedirects"), "fail"),
        (None, ReadError("ChunkedEncodingError"), "retry"),
        (None, None, "fail"),
        (408, None, "retry"),
        (429, None, "retry"),
        (500, None, "retry"),
        (502, None, "retry"),
        (503, None, "retry"),
        (504, None, "retry"),
        (599, None, "retry"),
        (400, None, "fail"),
        (401, None, "fail"),
        (403, None, "fail"),
        (404, None, "fail"),
        (409, None, "fail"),
        (410, None, "fail"),
        (413, None, "fail"),
        (422, None, "fail"),
        (418, None, "fail"),
        (451, None, "fail"),
    ],
)
def test_classify(status: int | None, exc: BaseException | None, verdict: str) -> None:
    assert classify(status, exc) == verdict


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    now = time.time()
    date = email.utils.formatdate(now + 20, usegmt=True)
    got = parse_retry_after(date, now=now)
    assert got is not None and 18.0 <= got <= 21.0
    past = email.utils.formatdate(now - 100, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after("garbage") is None


def test_backoff_full_jitter_cap_and_retry_after() -> None:
    # full jitter: the ceiling doubles from 0.5 s and is capped at 30 s
    assert backoff_delay(1, rand=lambda: 1.0) == 0.5
    assert backoff_delay(2, rand=lambda: 1.0) == 1.0
    assert backoff_delay(4, rand=lambda: 1.0) == 4.0
    assert backoff_delay(7, rand=lambda: 1.0) == 30.0
    assert backoff_delay(100, rand=lambda: 1.0) == 30.0
    assert backoff_delay(5, rand=lambda: 0.0) == 0.0
    assert backoff_delay(3, rand=lambda: 0.5) == 1.0
    for attempt in range(1, 40):
        assert 0.0 <= backoff_delay(attempt) <= 30.0
    # Retry-After wins over the jitter, bounded by the cap
    assert backoff_delay(1, 12.0, rand=lambda: 0.0) == 12.0
    assert backoff_delay(9, 2.0, rand=lambda: 1.0) == 2.0
    assert backoff_delay(1, 3600.0) == 30.0


def test_netstatus_states() -> None:
    s = NetStatus()
    assert s.snapshot()["state"] == "ok"
    s.retrying_started()
    s.begin_retry(503, "boom")
    snap = s.snapshot()
    assert snap["state"] == "retrying" and snap["status_code"] == 503 and snap["retry_count"] == 1
    assert snap["since"] > 0
    s.retrying_ended()
    s.success(200)
    assert s.snapshot()["state"] == "ok"
    s.failed(400, "bad")
    snap = s.snapshot()
    assert snap["state"] == "failed" and snap["status_code"] == 400 and snap["error"] == "bad"


def test_redact_url_drops_query_fragment_and_credentials() -> None:
    assert redact_url("https://u:p@s3.example:9000/b/k?X-Amz-Signature=abc#f") == (
        "https://s3.example:9000/b/k"
    )
    assert redact_url("http://[::1") == "<url>"


def test_redact_text_masks_before_it_cuts() -> None:
    secret = "s3cr3t-key"
    assert redact_text(f"bad key\n  {secret} here", secret) == "bad key *** here"
    # a secret straddling the cut leaves no prefix behind
    text = "x" * (MAX_ERROR_TEXT - 4) + secret
    out = redact_text(text, secret)
    assert len(out) <= MAX_ERROR_TEXT and "s3cr" not in out
    assert redact_text("no secret", "") == "no secret"


# ------------------------------------------------------------------ what a refusal means


@pytest.mark.parametrize(("status", "what"), [
    (413, "split"), (401, "key"), (403, "key"),
    (400, "keep"), (404, "keep"), (409, "keep"), (410, "keep"), (422, "keep"), (None, "keep"),
])
def test_refusal_splits_413_names_the_key_for_401_403_and_keeps_everything_else(
        status: int | None, what: str) -> None:
    assert refusal(status) == what


def test_every_status_either_retries_or_has_a_refusal_rule() -> None:
    """No status makes data vanish: retried (5xx, 429, 408) or refused by a rule."""
    for status in range(400, 600):
        verdict = classify(status, None)
        assert verdict == "retry" or refusal(status) in ("split", "key", "keep")
    assert {classify(s, None) for s in (408, 429, 500, 502, 503, 504)} == {"retry"}


@pytest.mark.parametrize(("ctype", "body", "bad"), [
    ("application/json", b'{"exitcode": null, "limits": {}}', None),
    ("application/json; charset=utf-8", b"{}", None),
    (None, b"{}", None),
    ("application/problem+json", b"{}", None),
    ("text/html", b"<html>portal</html>", "text/html, not JSON"),
    ("text/plain", b"{}", "text/plain, not JSON"),
    ("application/json", b"<html>", "not JSON"),
    ("application/json", b"", "not JSON"),
    ("application/json", b"[1]", "not a JSON object"),
    ("application/json", b'"ok"', "not a JSON object"),
])
def test_malformed_answer_accepts_only_a_json_object(
        ctype: str | None, body: bytes, bad: str | None) -> None:
    why = malformed_answer(ctype, body)
    assert (why is None) == (bad is None)
    if bad is not None:
        assert why is not None and bad in why

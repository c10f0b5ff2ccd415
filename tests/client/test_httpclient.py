"""HTTPClient's policy over a MockTransport: retries, auth, redaction, network status,
close. No sockets; jitter is turned off through the constructor (``random``)."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from nbtrack.client.errors import ConnectError, NetworkTimeout, TLSError, TransportError
from nbtrack.client.httpclient import HTTPClient
from nbtrack.client.netstatus import NetStatus
from nbtrack.client.transports import MockTransport, Request, Response

from helpers.wait import wait_until

KEY = "secret-key-42"
BASE = "http://tracker.test:8080"


def no_jitter() -> float:
    return 0.0


class Script:
    """A handler that answers from a list (the last answer repeats) and keeps every request.

    An answer is a Response, an exception to raise, or a callable taking the request.
    """

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            result: Response = answer(request)
            return result
        assert isinstance(answer, Response)
        return answer


def client(script: Callable[[Request], Response], **kw: Any) -> HTTPClient:
    kw.setdefault("random", no_jitter)
    return HTTPClient(BASE, KEY, transport=MockTransport(script), **kw)


def test_a_2xx_is_returned_with_auth_and_user_agent() -> None:
    script = Script(Response(200, json={"ok": True}))
    c = client(script)
    resp = c.request("GET", "/api/v1/runs", params={"keys": "a,b", "samples": 3})
    assert resp.json() == {"ok": True}
    (req,) = script.requests
    assert req.url == f"{BASE}/api/v1/runs?keys=a%2Cb&samples=3"
    basic = base64.b64encode(f"api:{KEY}".encode()).decode()
    assert req.headers["Authorization"] == f"Basic {basic}"
    assert req.headers["User-Agent"] == "nbtrack"
    assert req.timeout == 10.0
    assert c.status.snapshot()["state"] == "ok"


def test_503_three_times_then_ok_shows_retrying_meanwhile() -> None:
    seen: list[str] = []
    c: HTTPClient

    def watch(request: Request) -> Response:
        seen.append(c.status.state)
        return Response(503, content=b"busy")

    script = Script(watch, watch, watch, Response(200))
    c = client(script)
    assert c.request("POST", "/graphql", content=b"{}").status_code == 200
    assert len(script.requests) == 4
    assert seen == ["ok", "retrying", "retrying"]
    snap = c.status.snapshot()
    assert snap["state"] == "ok" and snap["retry_count"] == 3
    assert "HTTP 503 from http://tracker.test:8080/graphql: busy" in snap["error"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 413, 422])
def test_a_client_error_fails_at_once_without_the_key(status: int) -> None:
    script = Script(Response(status, content=f"key {KEY} refused".encode()))
    c = client(script)
    with pytest.raises(TransportError) as ei:
        c.request("POST", "/graphql", content=b"{}", what="graphql")
    assert ei.value.status == status and not ei.value.aborted
    assert len(script.requests) == 1
    assert KEY not in str(ei.value) and "key *** refused" in str(ei.value)
    snap = c.status.snapshot()
    assert snap["state"] == "failed" and snap["status_code"] == status


def test_no_answer_is_retried_and_named_without_the_query_string() -> None:
    script = Script(ConnectError("ConnectionError"), ConnectionResetError(),
                    NetworkTimeout("ReadTimeout"), Response(204))
    errors: list[str] = []

    class Recording(NetStatus):
        def begin_retry(self, status: int | None, error: str) -> None:
            errors.append(error)
            super().begin_retry(status, error)

    c = client(script, status=Recording())
    c.request("PUT", f"{BASE}/upload/a?sig=TOKEN", content=b"x", what="upload a")
    assert errors == [
        "upload a: ConnectionError talking to http://tracker.test:8080/upload/a",
        "upload a: ConnectionResetError talking to http://tracker.test:8080/upload/a",
        "upload a: ReadTimeout talking to http://tracker.test:8080/upload/a",
    ]


def test_a_bad_certificate_is_not_retried() -> None:
    script = Script(TLSError("SSLError"))
    with pytest.raises(TransportError, match="SSLError talking to") as ei:
        client(script).request("GET", "/x")
    assert ei.value.status is None and len(script.requests) == 1


def test_the_jitter_comes_from_the_constructor() -> None:
    draws: list[int] = []

    def rand() -> float:
        draws.append(1)
        return 0.0

    client(Script(Response(502), Response(502), Response(200)), random=rand).request("GET", "/x")
    assert len(draws) == 2  # one draw per retry


def test_retry_after_wins_over_the_jitter() -> None:
    script = Script(Response(429, headers={"Retry-After": "0.2"}), Response(200))
    t0 = time.monotonic()
    client(script).request("GET", "/x")
    assert time.monotonic() - t0 >= 0.2


def test_max_retry_time_gives_up_as_aborted() -> None:
    c = client(Script(Response(503)), random=lambda: 1.0, max_retry_time=0.2)
    t0 = time.monotonic()
    with pytest.raises(TransportError) as ei:
        c.request("GET", "/x")
    assert ei.value.status == 503 and ei.value.aborted
    assert time.monotonic() - t0 < 2.0
    assert c.status.snapshot()["state"] == "failed"


def test_close_aborts_a_retry_wait_and_closes_the_transport() -> None:
    transport = MockTransport(Script(Response(503, headers={"Retry-After": "30"})))
    c = HTTPClient(BASE, KEY, transport=transport, random=no_jitter)
    out: list[BaseException] = []

    def call() -> None:
        try:
            c.request("GET", "/x")
        except BaseException as e:
            out.append(e)

    th = threading.Thread(target=call)
    th.start()
    wait_until(lambda: c.status.state == "retrying", 5, message="never retrying")
    t0 = time.monotonic()
    c.close()
    th.join(5)
    assert time.monotonic() - t0 < 1.0
    assert isinstance(out[0], TransportError) and out[0].aborted
    assert transport.closed and c.closed
    assert c.status.state == "ok"  # no call is retrying any more
    with pytest.raises(TransportError, match="aborted"):
        c.request("GET", "/x")


def test_the_key_goes_only_to_our_origin() -> None:
    script = Script(Response(200))
    c = client(script)
    c.request("PUT", "https://bucket.s3.test/k?X-Amz-Signature=s", content=b"x")
    c.request("PUT", "http://tracker.test:9999/k", content=b"x")  # another port
    c.request("PUT", f"{BASE}/upload/k", content=b"x")
    assert ["Authorization" in r.headers for r in script.requests] == [False, False, True]


def test_a_streamed_body_is_reopened_for_every_attempt_and_closed() -> None:
    opened: list[io.BytesIO] = []

    def body() -> io.BytesIO:
        opened.append(io.BytesIO(b"file bytes"))
        return opened[-1]

    script = Script(Response(500), Response(200))
    client(script).request("PUT", "/upload/f", content=body)
    assert [r.content for r in script.requests] == [b"file bytes", b"file bytes"]
    assert len(opened) == 2 and all(f.closed for f in opened)


def test_a_body_that_cannot_be_opened_is_not_retried() -> None:
    def body() -> io.BytesIO:
        raise FileNotFoundError("gone")

    script = Script(Response(200))
    with pytest.raises(TransportError, match="FileNotFoundError") as ei:
        client(script).request("PUT", "/upload/f", content=body, what="upload f")
    assert not ei.value.aborted and script.requests == []

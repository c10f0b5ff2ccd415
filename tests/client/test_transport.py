"""Transport: retry classification, backoff, and HTTP against a tiny threaded fake.

``FakeWandb`` (a stdlib ``http.server`` speaking the W&B subset the sender uses)
lives in tests/helpers/fakewandb.py, shared with the sender tests.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from nbtrack.client.transport import (
    NetStatus,
    Transport,
    TransportError,
    backoff_delay,
    classify,
    parse_retry_after,
)

from helpers.fakewandb import TOKEN, FakeWandb, make_transport

# --------------------------------------------------------------------------- pure functions


@pytest.mark.parametrize(
    ("status", "exc", "verdict"),
    [
        (None, requests.ConnectionError("refused"), "retry"),
        (None, requests.ReadTimeout("slow"), "retry"),
        (None, requests.ConnectTimeout("slow"), "retry"),
        (None, ConnectionResetError(), "retry"),
        (None, TimeoutError(), "retry"),
        (None, ValueError("bug"), "fail"),
        (None, requests.exceptions.SSLError("bad certificate"), "fail"),
        (None, requests.exceptions.ChunkedEncodingError("cut"), "retry"),
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


# --------------------------------------------------------------------------- HTTP


def test_503_three_times_then_ok(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    fake.inject("graphql", 503, times=3, retry_after="0.05")
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append(t.status.snapshot())
            time.sleep(0.005)

    w = threading.Thread(target=watch)
    w.start()
    try:
        data = t.graphql("query Viewer { viewer { entity } }", {})
    finally:
        stop.set()
        w.join()
    assert data["viewer"]["entity"] == "me"
    assert fake.requests == 4
    assert any(s["state"] == "retrying" and s["status_code"] == 503 for s in seen)
    snap = t.status.snapshot()
    assert snap["state"] == "ok"
    assert snap["retry_count"] == 3
    assert "503" in snap["error"]
    t.close()


def test_400_fails_at_once_with_status(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    fake.inject("file_stream", 400)
    t0 = time.monotonic()
    with pytest.raises(TransportError) as ei:
        t.file_stream("me", "p", "r1", {"files": {}})
    assert ei.value.status == 400
    assert not ei.value.aborted
    assert time.monotonic() - t0 < 2.0
    assert fake.requests == 1
    snap = t.status.snapshot()
    assert snap["state"] == "failed" and snap["status_code"] == 400
    assert TOKEN not in snap["error"]
    t.close()


def test_401_with_a_wrong_key(fake: FakeWandb) -> None:
    t = Transport(fake.url, "wrong-key")
    with pytest.raises(TransportError) as ei:
        t.graphql("query Viewer { viewer { entity } }", {})
    assert ei.value.status == 401
    assert "wrong-key" not in str(ei.value)
    t.close()


def test_graphql_errors_raise(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    with pytest.raises(TransportError, match="unknown operation"):
        t.graphql("query Nope { nope }", {})
    t.close()


def test_close_aborts_a_retrying_call_quickly(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    fake.inject("graphql", 503, times=100, retry_after="30")
    errors: list[TransportError] = []

    def call() -> None:
        try:
            t.graphql("query Viewer { viewer { entity } }", {})
        except TransportError as e:
            errors.append(e)

    th = threading.Thread(target=call)
    th.start()
    time.sleep(0.3)
    assert th.is_alive()
    assert t.status.snapshot()["state"] == "retrying"
    t0 = time.monotonic()
    t.close()
    th.join(5)
    assert not th.is_alive()
    assert time.monotonic() - t0 < 1.0
    assert errors and errors[0].aborted
    # a closed transport refuses new calls at once
    with pytest.raises(TransportError):
        t.graphql("query Viewer { viewer { entity } }", {})


def test_max_retry_time_gives_up(fake: FakeWandb) -> None:
    t = make_transport(fake.url, max_retry_time=0.3)
    fake.inject("graphql", 502, times=1000, retry_after="0.05")
    t0 = time.monotonic()
    with pytest.raises(TransportError) as ei:
        t.graphql("query Viewer { viewer { entity } }", {})
    assert ei.value.status == 502
    assert time.monotonic() - t0 < 3.0
    t.close()


def test_connection_refused_is_retried_until_close() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    t = make_transport(f"http://127.0.0.1:{port}")
    out: list[BaseException] = []
    th = threading.Thread(target=lambda: _capture(out, t))
    th.start()
    time.sleep(0.3)
    snap = t.status.snapshot()
    assert snap["state"] == "retrying" and snap["retry_count"] >= 1
    assert "ConnectionError" in snap["error"]
    t.close()
    th.join(5)
    assert not th.is_alive()
    assert isinstance(out[0], TransportError) and out[0].aborted


def _capture(out: list[BaseException], t: Transport) -> None:
    try:
        t.graphql("query Viewer { viewer { entity } }", {})
    except BaseException as e:
        out.append(e)


def test_upload_auth_only_same_origin(fake: FakeWandb, tmp_path: Path) -> None:
    t = make_transport(fake.url)
    p = tmp_path / "a.txt"
    p.write_bytes(b"hello")
    assert t.upload(f"{fake.url}/upload/a.txt?sig=1", p, {"X-Test": "yes"}) == 5
    assert fake.uploads["a.txt"] == b"hello"
    assert fake.upload_auth[-1] is not None
    # another origin (localhost vs 127.0.0.1): no Authorization header
    other = fake.url.replace("127.0.0.1", "localhost")
    fake.inject("upload", 503, retry_after="0")
    assert t.upload(f"{other}/upload/b.txt?sig=1", p, {}) == 5
    assert fake.uploads["b.txt"] == b"hello"
    assert fake.upload_auth[-1] is None
    t.close()


def test_file_stream_bytes_payload(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    body = json.dumps({"files": {"wandb-history.jsonl": {"offset": 0, "content": ['{"a": 1}']}}})
    assert t.file_stream("me", "p", "r", body.encode()) == {"exitcode": None, "limits": {}}
    assert fake.lines("me", "p", "r", "wandb-history.jsonl") == ['{"a": 1}']
    t.close()

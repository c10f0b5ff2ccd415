"""The W&B client over real HTTP, against a tiny threaded fake: what only a socket
shows (connection refused, Retry-After over the wire, close aborting a retry, the
Authorization header of real uploads), and how ``requests``' exceptions are mapped.

``FakeWandb`` (a stdlib ``http.server`` speaking the W&B subset the sender uses)
lives in tests/helpers/fakewandb.py, shared with the sender tests. The same logic
without sockets: test_httpclient.py and test_wandbclient.py (MockTransport).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from nbtrack.client.errors import TransportError
from nbtrack.client.policy import classify
from nbtrack.client.transports import map_requests_error
from nbtrack.client.wandbclient import WandbClient

from helpers.fakewandb import TOKEN, FakeWandb, make_transport
from helpers.wait import wait_until

# --------------------------------------------------------------------------- the boundary


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (requests.ConnectionError("refused"), "retry"),
        (requests.ReadTimeout("slow"), "retry"),
        (requests.ConnectTimeout("slow"), "retry"),
        (requests.exceptions.SSLError("bad certificate"), "fail"),
        (requests.exceptions.InvalidURL("no"), "fail"),
        (requests.exceptions.MissingSchema("no"), "fail"),
        (requests.exceptions.TooManyRedirects("loop"), "fail"),
        (requests.exceptions.ChunkedEncodingError("cut"), "retry"),
    ],
)
def test_requests_errors_keep_their_verdicts(exc: requests.RequestException, verdict: str) -> None:
    mapped = map_requests_error(exc)
    assert classify(None, mapped) == verdict
    assert mapped.kind == type(exc).__name__  # messages keep the library's name


# --------------------------------------------------------------------------- HTTP


def test_503_three_times_then_ok(fake: FakeWandb) -> None:
    t = make_transport(fake.url)
    fake.inject("graphql", 503, times=3, retry_after="0.05")
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.005):  # why: sampling the status at a fixed rate is the test
            seen.append(t.status.snapshot())

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
    t = WandbClient(fake.url, "wrong-key")
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
    wait_until(lambda: t.status.snapshot()["state"] == "retrying", 5, message="never retrying")
    assert th.is_alive()
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
    snap = wait_until(lambda: (s := t.status.snapshot())["retry_count"] >= 1 and s, 5,
                      message="the refused connection was never retried")
    assert snap["state"] == "retrying"
    assert "ConnectionError" in snap["error"]
    t.close()
    th.join(5)
    assert not th.is_alive()
    assert isinstance(out[0], TransportError) and out[0].aborted


def _capture(out: list[BaseException], t: WandbClient) -> None:
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


class ScriptedSocket:
    """A TCP server that plays one misbehaviour per connection, then answers properly:
    "reset" (RST before any answer), "cut" (a body shorter than its Content-Length)."""

    BODY = b'{"data": {"viewer": {"entity": "me"}}}'
    OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
          b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))

    def __init__(self, *plays: str) -> None:
        self.plays = list(plays)
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            play = self.plays.pop(0) if self.plays else "ok"
            with conn:
                conn.recv(65536)  # the request (small enough for one read)
                if play == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif play == "cut":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"data\":")
                else:
                    conn.sendall(self.OK)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(("play", "kind"), [("reset", "ConnectionError"),
                                            ("cut", "ChunkedEncodingError")])
def test_a_reset_or_a_cut_answer_is_retried(play: str, kind: str) -> None:
    server = ScriptedSocket(play)
    t = make_transport(server.url)
    try:
        assert t.graphql("query Viewer { viewer { entity } }") == {"viewer": {"entity": "me"}}
        assert server.connections == 2
        snap = t.status.snapshot()
        assert snap["state"] == "ok" and snap["retry_count"] == 1
        assert kind in snap["error"]
    finally:
        t.close()
        server.close()


def test_a_connection_error_follows_the_server_to_where_it_is_now(live_server: Any) -> None:
    """The local server died and came back elsewhere: the next attempt goes to the URL and
    key ``rediscover`` names, at once, not after the policy's backoff."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # closed: connection refused
    asked: list[int] = []

    def rediscover() -> tuple[str, str]:
        asked.append(1)
        return live_server.url, live_server.token

    client = WandbClient(dead, "old-token", max_retry_time=30, rediscover=rediscover)
    try:
        t0 = time.monotonic()
        answer = client.graphql("query { viewer { entity } }")
        took = time.monotonic() - t0
    finally:
        client.close()
    assert answer["viewer"]["entity"]
    assert client.base_url == live_server.url and client.http.moves == 1 and asked == [1]
    assert took < 2.0


def test_a_refused_key_follows_a_server_restarted_with_a_new_token(live_server: Any) -> None:
    """Same URL, new token (the local server came back on its old port): the 401 asks where
    the server is now, and the request is sent again with the new key."""
    client = WandbClient(live_server.url, "stale-token", max_retry_time=30,
                         rediscover=lambda: (live_server.url, live_server.token))
    try:
        answer = client.graphql("query { viewer { entity } }")
    finally:
        client.close()
    assert answer["viewer"]["entity"] and client.http.moves == 1

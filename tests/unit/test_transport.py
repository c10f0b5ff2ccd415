"""Transport: retry classification, backoff, and HTTP against a tiny threaded fake.

``FakeWandb`` (a stdlib ``http.server`` speaking the W&B subset the sender uses)
is also imported by the sender / file-stream / file-pusher tests.
"""

from __future__ import annotations

import base64
import email.utils
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from nbtrack.transport import (
    NetStatus,
    Transport,
    TransportError,
    backoff_delay,
    classify,
    parse_retry_after,
)

TOKEN = "secret-token-123"


# --------------------------------------------------------------------------- the fake


class FakeWandb:
    """A threaded fake W&B server: GraphQL subset, file_stream, uploads.

    ``inject(kind, status, times=1, commit=False, retry_after=None)`` makes the
    next ``times`` requests of ``kind`` ("graphql" | "file_stream" | "upload")
    answer ``status``; with ``commit=True`` a file_stream post is stored first.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []  # every file_stream body received
        self.graphql_ops: list[tuple[str, dict[str, Any]]] = []
        self.uploads: dict[str, bytes] = {}
        self.upload_auth: list[str | None] = []
        self.failures: dict[str, list[tuple[int, bool, str | None]]] = {}
        self.requests = 0
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _authed(self) -> bool:
                want = "Basic " + base64.b64encode(f"api:{TOKEN}".encode()).decode()
                return self.headers.get("Authorization") == want

            def do_POST(self) -> None:
                fake.handle(self, "POST")

            def do_PUT(self) -> None:
                fake.handle(self, "PUT")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- scripting ---------------------------------------------------------
    def inject(
        self,
        kind: str,
        status: int,
        times: int = 1,
        *,
        commit: bool = False,
        retry_after: str | None = None,
    ) -> None:
        with self.lock:
            self.failures.setdefault(kind, []).extend([(status, commit, retry_after)] * times)

    def _failure(self, kind: str) -> tuple[int, bool, str | None] | None:
        with self.lock:
            q = self.failures.get(kind)
            return q.pop(0) if q else None

    def run(self, entity: str, project: str, run_id: str) -> dict[str, Any]:
        with self.lock:
            return self.runs.setdefault(
                (entity, project, run_id),
                {
                    "files": {},
                    "summary": None,
                    "config": None,
                    "state": "running",
                    "exitcode": None,
                    "complete": False,
                    "upserts": [],
                },
            )

    def lines(self, entity: str, project: str, run_id: str, name: str) -> list[str]:
        f = self.run(entity, project, run_id)["files"].get(name, {})
        return [f[i] for i in sorted(f)]

    # -- dispatch ----------------------------------------------------------
    def handle(self, h: Any, method: str) -> None:
        body = h._body()
        with self.lock:
            self.requests += 1
        if self.delay:
            time.sleep(self.delay)
        path = h.path.split("?")[0]
        if method == "PUT" and path.startswith("/upload/"):
            return self._upload(h, path, body)
        if not h._authed():
            return h._send(401, {"error": "unauthorized"})
        if path == "/graphql":
            return self._graphql(h, body)
        m = re.fullmatch(r"/files/([^/]+)/([^/]+)/([^/]+)/file_stream", path)
        if m:
            return self._file_stream(h, m.groups(), body)
        h._send(404, {"error": "not found"})

    def _maybe_fail(self, h: Any, kind: str) -> tuple[bool, bool]:
        """(answered with a failure, commit first)."""
        f = self._failure(kind)
        if f is None:
            return False, False
        status, commit, retry_after = f
        if commit:
            return False, True
        h._send(
            status,
            {"error": f"injected {status}"},
            {"Retry-After": retry_after} if retry_after else None,
        )
        return True, False

    def _upload(self, h: Any, path: str, body: bytes) -> None:
        failed, _ = self._maybe_fail(h, "upload")
        if failed:
            return
        with self.lock:
            self.uploads[path[len("/upload/") :]] = body
            self.upload_auth.append(h.headers.get("Authorization"))
        h._send(200, {})

    def _file_stream(self, h: Any, ident: tuple[str, ...], raw: bytes) -> None:
        failed, commit_then_fail = self._maybe_fail(h, "file_stream")
        if failed:
            return
        body = json.loads(raw)
        e, p, r = ident
        run = self.run(e, p, r)
        with self.lock:
            self.posts.append(body)
            for name, chunk in body.get("files", {}).items():
                if name == "wandb-summary.json":
                    run["summary"] = json.loads(chunk["content"][-1])
                    continue
                store = run["files"].setdefault(name, {})
                for i, line in enumerate(chunk["content"]):
                    store.setdefault(chunk["offset"] + i, line)
            if body.get("complete"):
                run["complete"] = True
                run["exitcode"] = body.get("exitcode")
                run["state"] = "finished" if body.get("exitcode") == 0 else "failed"
        if commit_then_fail:
            return h._send(500, {"error": "committed, then failed"})
        h._send(200, {"exitcode": None, "limits": {}})

    def _graphql(self, h: Any, raw: bytes) -> None:
        failed, _ = self._maybe_fail(h, "graphql")
        if failed:
            return
        req = json.loads(raw)
        q: str = req["query"]
        v: dict[str, Any] = req.get("variables") or {}
        op = re.search(r"(query|mutation)\s+(\w+)", q)
        name = op.group(2) if op else "?"
        with self.lock:
            self.graphql_ops.append((name, v))
        if name == "Viewer":
            return h._send(
                200, {"data": {"viewer": {"id": "u1", "entity": "me", "username": "me"}}}
            )
        if name == "UpsertBucket":
            e, p, r = v.get("entity") or "me", v.get("project") or "uncategorized", v["name"]
            inserted = (e, p, r) not in self.runs
            run = self.run(e, p, r)
            with self.lock:
                run["upserts"].append(v)
                if v.get("config") is not None:
                    run["config"] = json.loads(v["config"])
                if v.get("state"):
                    run["state"] = v["state"]
            bucket = {
                "id": f"id-{r}",
                "name": r,
                "displayName": v.get("displayName") or f"name-{r}",
                "description": None,
                "config": json.dumps(run["config"] or {}),
                "project": {"id": "p1", "name": p, "entity": {"id": "e1", "name": e}},
                "historyLineCount": len(run["files"].get("wandb-history.jsonl", {})),
            }
            return h._send(
                200, {"data": {"upsertBucket": {"bucket": bucket, "inserted": inserted}}}
            )
        if name == "RunResumeStatus":
            key = (v.get("entity") or "me", v.get("project") or "uncategorized", v["name"])
            if key not in self.runs:
                return h._send(
                    200, {"data": {"model": {"id": "p1", "name": key[1], "bucket": None}}}
                )
            run = self.run(*key)
            hist = self.lines(*key, "wandb-history.jsonl")
            bucket = {
                "id": "x",
                "name": key[2],
                "summaryMetrics": json.dumps(run["summary"] or {}),
                "displayName": "d",
                "logLineCount": len(run["files"].get("output.log", {})),
                "historyLineCount": len(hist),
                "eventsLineCount": len(run["files"].get("wandb-events.jsonl", {})),
                "historyTail": json.dumps(hist[-10:]),
                "eventsTail": "[]",
                "config": json.dumps(run["config"] or {}),
                "tags": [],
            }
            return h._send(200, {"data": {"model": {"id": "p1", "name": key[1], "bucket": bucket}}})
        if name == "CreateRunFiles":
            files = [{"name": n, "uploadUrl": f"{self.url}/upload/{n}?sig=abc"} for n in v["files"]]
            return h._send(
                200,
                {
                    "data": {
                        "createRunFiles": {
                            "runID": "x",
                            "uploadHeaders": ["X-Test:yes"],
                            "files": files,
                        }
                    }
                },
            )
        h._send(200, {"errors": [{"message": f"unknown operation {name}"}]})


@pytest.fixture
def fake() -> Iterator[FakeWandb]:
    f = FakeWandb()
    yield f
    f.close()


def make_transport(url: str, **kw: Any) -> Transport:
    t = Transport(url, TOKEN, timeout=5.0, **kw)
    t._rand = lambda: 0.0  # no jitter wait in tests (Retry-After still honoured)
    return t


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

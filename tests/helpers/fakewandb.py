"""A tiny threaded fake of the W&B subset the sender uses (a stdlib ``http.server`` on
127.0.0.1), for the transport, sender, poster, run-control and file-pusher tests."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nbtrack.client.wandbclient import WandbClient

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
        self.alerts: list[dict[str, Any]] = []  # notifyScriptableRunAlert inputs
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
                    "stopped": False,
                },
            )

    def stop(self, entity: str, project: str, run_id: str) -> None:
        """Mark the run stopped, as ``nbtrack stop`` does on the real server."""
        run = self.run(entity, project, run_id)
        with self.lock:
            run["stopped"] = True

    def ops(self, name: str) -> list[dict[str, Any]]:
        """The variables of every GraphQL ``name`` operation received, in order."""
        with self.lock:
            return [v for op, v in self.graphql_ops if op == name]

    def lines(self, entity: str, project: str, run_id: str, name: str) -> list[str]:
        f = self.run(entity, project, run_id)["files"].get(name, {})
        return [f[i] for i in sorted(f)]

    # -- dispatch ----------------------------------------------------------
    def handle(self, h: Any, method: str) -> None:
        body = h._body()
        with self.lock:
            self.requests += 1
        if self.delay:
            # why: the fault is the time itself, a slow server (tests/pipeline set ``delay``)
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
        if name == "RunStoppedStatus":
            key = (v.get("entityName") or "me", v.get("projectName") or "uncategorized",
                   v["runId"])
            stopped = bool(self.runs.get(key, {}).get("stopped"))
            return h._send(200, {"data": {"project": {"run": {"stopped": stopped}}}})
        if name == "NotifyScriptableRunAlert":
            with self.lock:
                self.alerts.append(v)
            return h._send(200, {"data": {"notifyScriptableRunAlert": {"success": True}}})
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


def make_transport(url: str, **kw: Any) -> WandbClient:
    """A client of the fake without jitter waits (Retry-After is still honoured), giving up
    after 30 s: a worker a test left behind must not retry a stopped fake for ever."""
    kw.setdefault("random", lambda: 0.0)
    kw.setdefault("max_retry_time", 30.0)
    return WandbClient(url, TOKEN, timeout=5.0, **kw)

"""The W&B calls over a MockTransport: what goes on the wire and how answers are read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbtrack.client.errors import TransportError
from nbtrack.client.transports import MockTransport, Request, Response
from nbtrack.client.wandbclient import WandbClient
from nbtrack.wire.ordering import SEQ_HEADER

BASE = "http://tracker.test"


class Recorder:
    def __init__(self, *answers: Response) -> None:
        self.answers = list(answers)
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def wandb(rec: Recorder, max_retry_time: float | None = None) -> WandbClient:
    return WandbClient(BASE, "k", transport=MockTransport(rec), random=lambda: 0.0,
                       max_retry_time=max_retry_time)


def test_graphql_posts_query_and_variables_and_returns_data() -> None:
    rec = Recorder(Response(200, json={"data": {"viewer": {"entity": "me"}}}))
    assert wandb(rec).graphql("query Viewer { viewer { entity } }", {"a": 1}) == {
        "viewer": {"entity": "me"}
    }
    (req,) = rec.requests
    assert (req.method, req.url) == ("POST", f"{BASE}/graphql")
    assert req.headers["Content-Type"] == "application/json"
    assert req.content is not None
    assert json.loads(req.content) == {"query": "query Viewer { viewer { entity } }",
                                       "variables": {"a": 1}}


def test_graphql_errors_and_bodies_that_are_not_json_raise() -> None:
    rec = Recorder(Response(200, json={"errors": [{"message": "unknown operation Nope"}, "x"]}))
    with pytest.raises(TransportError, match="graphql error: unknown operation Nope; x"):
        wandb(rec).graphql("query Nope { nope }")
    # a 200 that is not a JSON object is no answer: retried, here until max_retry_time
    for bad in (Response(200, content=b"<html>"), Response(200, json=[1, 2])):
        rec = Recorder(bad)
        with pytest.raises(TransportError, match="not a server answer") as ei:
            wandb(rec, max_retry_time=0.2).graphql("query Viewer { viewer { entity } }")
        assert ei.value.status == 200 and ei.value.aborted and len(rec.requests) > 1
    assert wandb(Recorder(Response(200, json={"data": None}))).graphql("q") == {}


def test_file_stream_quotes_the_path_and_sends_bytes_as_they_are() -> None:
    rec = Recorder(Response(200, json={"exitcode": None, "limits": {}}))
    body = b'{"files": {}, "complete": false}'
    assert wandb(rec).file_stream("me", "my project", "r/1", body) == {
        "exitcode": None, "limits": {}
    }
    (req,) = rec.requests
    assert req.url == f"{BASE}/files/me/my%20project/r%2F1/file_stream"
    assert req.content == body
    assert SEQ_HEADER not in req.headers
    wandb(rec).file_stream("me", "p", "r", {"files": {}}, seq=42)
    assert rec.requests[-1].content == b'{"files": {}}'
    assert rec.requests[-1].headers[SEQ_HEADER] == "42"


@pytest.mark.parametrize("answer", [
    Response(200, content=b"<html><body>Log in to the hotel wifi</body></html>",
             headers={"Content-Type": "text/html"}),
    Response(200, content=b""),
    Response(200, content=b"[]", headers={"Content-Type": "application/json"}),
    Response(200, content=b'{"exitcode": null}', headers={"Content-Type": "text/plain"}),
])
def test_a_file_stream_200_that_is_not_a_json_object_is_retried_not_acknowledged(
        answer: Response) -> None:
    ok = Response(200, json={"exitcode": None, "limits": {}})
    rec = Recorder(answer, answer, ok)
    c = wandb(rec)
    assert c.file_stream("me", "p", "r", b'{"files": {}}', seq=7) == {"exitcode": None,
                                                                       "limits": {}}
    assert len(rec.requests) == 3  # the same bytes and sequence number each time
    assert {r.content for r in rec.requests} == {b'{"files": {}}'}
    assert {r.headers[SEQ_HEADER] for r in rec.requests} == {"7"}
    assert c.status.retry_count == 2 and c.status.last_status == 200
    assert "not a server answer" in c.status.last_error


def test_upload_streams_the_file_with_its_headers(tmp_path: Path) -> None:
    p = tmp_path / "config.yaml"
    p.write_bytes(b"lr: 0.1\n")
    rec = Recorder(Response(503), Response(200))
    assert wandb(rec).upload("https://store.test/b/config.yaml?sig=1", p, {"X-Test": "yes"}) == 8
    assert [r.content for r in rec.requests] == [b"lr: 0.1\n"] * 2  # the retry resends it
    assert rec.requests[0].headers["X-Test"] == "yes"
    assert "Authorization" not in rec.requests[0].headers


def test_upload_of_a_missing_file_fails_before_any_request(tmp_path: Path) -> None:
    rec = Recorder(Response(200))
    with pytest.raises(TransportError, match=r"upload nope\.txt: FileNotFoundError"):
        wandb(rec).upload(f"{BASE}/upload/nope.txt", tmp_path / "nope.txt")
    assert rec.requests == []


def test_what_the_pipeline_reads_of_the_client() -> None:
    t = WandbClient(BASE + "/", "k", timeout=3.0, max_retry_time=7.0)
    assert (t.base_url, t.timeout, t.max_retry_time, t.closed) == (BASE, 3.0, 7.0, False)
    assert t.status.snapshot()["state"] == "ok"
    t.close()
    assert t.closed

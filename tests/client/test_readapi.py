"""nbtrack.Api over a MockTransport: the paths it reads, the retry policy it shares with
the sender, and the errors it raises. (Against the real server: tests/server/.)"""

from __future__ import annotations

import urllib.parse

import pytest

from nbtrack.client.readapi import Api, ApiError
from nbtrack.client.transports import MockTransport, Request, Response

BASE = "http://tracker.test"
RUN = {"id": "r1", "entity": "me", "project": "p", "name": "first", "state": "finished",
       "config": {"lr": 0.1}, "summary": {"loss": 0.2}, "last_step": 9}


class Server:
    """Read API answers by path; ``fail`` answers first, in order."""

    def __init__(self, *fail: Response) -> None:
        self.fail = list(fail)
        self.seen: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.seen.append(request)
        if self.fail:
            return self.fail.pop(0)
        url = urllib.parse.urlsplit(request.url)
        routes = {
            "/api/v1/viewer": {"entity": "me"},
            "/api/v1/runs": {"runs": [RUN]},
            "/api/v1/runs/me/p/r1": RUN,
            "/api/v1/runs/me/p/r1/history": {"rows": [{"_step": 0, "loss": 1.0}]},
            "/api/v1/runs/me/p/r1/output": {"lines": ["2024-01-02T03:04:05.678Z hi",
                                                      "ERROR 2024-01-02T03:04:06Z oops"]},
            "/api/v1/runs/me/p/r1/stop": {"stop_requested": True},
        }
        if url.path not in routes:
            return Response(404, json={"error": "no such run"})
        return Response(200, json=routes[url.path])


def api(server: Server, **kw: float) -> Api:
    return Api(BASE, "k", transport=MockTransport(server), random=lambda: 0.0, **kw)


def test_runs_and_a_run_by_its_short_path() -> None:
    server = Server()
    a = api(server)
    (listed,) = a.runs(project="p")
    assert (listed.path, listed.name, listed.last_step) == ("me/p/r1", "first", 9)
    assert server.seen[0].url == f"{BASE}/api/v1/runs?project=p"
    run = a.run("p/r1")  # the default entity comes from the viewer
    assert (run.config, run.summary, run.state) == ({"lr": 0.1}, {"loss": 0.2}, "finished")
    assert [urllib.parse.urlsplit(r.url).path for r in server.seen[1:]] == [
        "/api/v1/viewer", "/api/v1/runs/me/p/r1"
    ]
    assert all(r.headers.get("Authorization") for r in server.seen)


def test_history_parameters_and_console_lines() -> None:
    server = Server()
    run = api(server).run("me/p/r1")
    assert run.history(keys=["loss", "acc"], samples=10, min_step=0, max_step=5) == [
        {"_step": 0, "loss": 1.0}
    ]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(server.seen[-1].url).query)
    assert query == {"keys": ["loss,acc"], "samples": ["10"], "min_step": ["0"],
                     "max_step": ["5"]}
    assert run.console() == [
        {"time": "2024-01-02T03:04:05.678Z", "stream": "stdout", "text": "hi"},
        {"time": "2024-01-02T03:04:06Z", "stream": "stderr", "text": "oops"},
    ]
    assert run.stop_requested is True
    run.stop()
    assert server.seen[-1].method == "POST"


def test_reads_are_retried_like_the_senders_requests() -> None:
    server = Server(Response(503), Response(429, headers={"Retry-After": "0"}), Response(502))
    assert api(server).run("me/p/r1").id == "r1"
    assert len(server.seen) == 4


def test_a_refused_read_raises_at_once_with_its_status() -> None:
    server = Server()
    with pytest.raises(ApiError) as ei:
        api(server).run("me/p/nope")
    assert ei.value.status == 404 and not ei.value.aborted
    assert "no such run" in str(ei.value) and len(server.seen) == 1
    assert isinstance(ei.value, RuntimeError)  # what callers caught before


def test_a_server_that_stays_down_ends_within_max_retry_time() -> None:
    server = Server(*[Response(503, headers={"Retry-After": "0.02"})] * 1000)
    with pytest.raises(ApiError) as ei:
        api(server, max_retry_time=0.1).runs()
    assert ei.value.status == 503 and ei.value.aborted


def test_a_bad_run_path_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected 'entity/project/run_id'"):
        api(Server()).run("a/b/c/d")

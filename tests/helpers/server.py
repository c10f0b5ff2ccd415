"""A real nbtrack server in a subprocess, for tests that speak HTTP to it."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from nbtrack.client.localserver import server_command

from helpers.wait import wait_until_up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_ok(url: str, headers: dict[str, str] | None = None) -> bool:
    """True when ``url`` answers 200; False while nothing (or something else) answers."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                    timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:  # refused, reset, timed out, or an HTTP error status
        return False


@dataclass
class RunningServer:
    url: str
    token: str
    pid: int
    dir: Path
    proc: subprocess.Popen[bytes]
    port: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> tuple[str, str]:
        return ("api", self.token)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM and wait (a clean shutdown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _close_log(self.proc)

    def kill(self) -> None:
        """SIGKILL: the server dies without cleaning up."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        _close_log(self.proc)

    def restart(self, timeout: float = 10.0) -> RunningServer:
        """Start again on the same port, dir and token; updates this object in place."""
        self.stop()
        new = _spawn(self.dir, self.port, self.token, self.options, timeout)
        self.pid, self.proc, self.url = new.pid, new.proc, new.url
        return self


def _close_log(proc: subprocess.Popen[bytes]) -> None:
    log = getattr(proc, "_nbtrack_log", None)
    if log is not None:
        log.close()


def _spawn(
    directory: Path, port: int, token: str, options: dict[str, Any], timeout: float
) -> RunningServer:
    args = ["--dir", str(directory), "--port", str(port), "--token", token]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    (directory / "server").mkdir(parents=True, exist_ok=True)
    log = open(directory / "server" / "test-server.log", "ab")  # noqa: SIM115 (closed in stop)
    proc = subprocess.Popen(server_command(args), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    proc._nbtrack_log = log  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        # the pid tells our server from another process that took the port
        with contextlib.suppress(requests.RequestException, ValueError):
            r = requests.get(f"{url}/healthz", timeout=1)
            return bool(r.ok and r.json().get("pid") == proc.pid)
        return False

    with contextlib.suppress(AssertionError):  # exited or too slow: retried by start_server
        wait_until_up(proc, healthy, timeout, "the test server")
        return RunningServer(url, token, proc.pid, directory, proc, port, dict(options))
    proc.kill()
    proc.wait()
    log.close()
    tail = (directory / "server" / "test-server.log").read_text(errors="replace")[-3000:]
    raise RuntimeError(f"the test server did not start:\n{tail}")


def start_server(dir: Path, timeout: float = 10.0, **options: Any) -> RunningServer:
    """Start the real server on a free 127.0.0.1 port with a fresh token; wait for healthz.

    ``options`` become command-line flags (``heartbeat_timeout=1`` → ``--heartbeat-timeout 1``).
    """
    for attempt in range(3):
        try:
            return _spawn(Path(dir), free_port(), secrets.token_hex(20), options, timeout)
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def auth(server: RunningServer) -> tuple[str, str]:
    """The ``requests`` auth tuple for ``server``."""
    return ("api", server.token)


def state_of(server: RunningServer) -> dict[str, Any]:
    return dict(json.loads((server.dir / "server" / "state.json").read_text()))


@pytest.fixture
def server_backend() -> str:
    """The storage the servers of ``server_factory`` use: ``sqlite`` here; ``tests/server``
    overrides this fixture with params ``["sqlite", "postgres"]`` to run on both."""
    return "sqlite"


@pytest.fixture
def server_factory(
    tmp_path: Path, server_backend: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., RunningServer]]:
    """``start(dir=None, **options)``; every server started is stopped at teardown.

    With the ``postgres`` backend every server gets a fresh database on the session's
    private PostgreSQL (unless ``db=`` is given), kept across ``restart()``.
    """
    started: list[RunningServer] = []
    counter = iter(range(1_000_000))

    def start(dir: Path | None = None, **options: Any) -> RunningServer:
        d = Path(dir) if dir is not None else tmp_path / f"server-{next(counter)}"
        d.mkdir(parents=True, exist_ok=True)
        if server_backend == "postgres" and "db" not in options:
            options["db"] = request.getfixturevalue("postgres_cluster").create_database()
        srv = start_server(d, **options)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def live_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """One server in its own temporary directory for the test."""
    return server_factory()


# ---------------------------------------------------------------------- small clients

UPSERT = """
mutation UpsertBucket($name: String, $project: String, $entity: String, $config: JSONString,
                      $state: String, $displayName: String, $tags: [String!]) {
  upsertBucket(input: {name: $name, modelName: $project, entityName: $entity, config: $config,
                       state: $state, displayName: $displayName, tags: $tags}) {
    bucket { id name displayName description config sweepName historyLineCount
             project { id name entity { id name } } }
    inserted
  }
}
"""


def gql(
    server: RunningServer, query: str, variables: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """POST a GraphQL query; returns the whole answer (``data`` and maybe ``errors``)."""
    r = requests.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables or {}, **extra},
        auth=auth(server),
        timeout=10,
    )
    r.raise_for_status()
    return dict(r.json())


def upsert(
    server: RunningServer, name: str, project: str = "proj", **variables: Any
) -> dict[str, Any]:
    """upsertBucket for run ``name``; returns ``data.upsertBucket``."""
    out = gql(server, UPSERT, {"name": name, "project": project, **variables})
    assert "errors" not in out, out
    return dict(out["data"]["upsertBucket"])


def stream(
    server: RunningServer, path: str, files: dict[str, tuple[int, list[str]]], **extra: Any
) -> requests.Response:
    """POST a file_stream chunk to ``/files/<path>/file_stream``."""
    body = {"files": {k: {"offset": o, "content": c} for k, (o, c) in files.items()}, **extra}
    return requests.post(
        f"{server.url}/files/{path}/file_stream", json=body, auth=auth(server), timeout=30
    )


def api(server: RunningServer, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/{path}", params=params, auth=auth(server), timeout=30)

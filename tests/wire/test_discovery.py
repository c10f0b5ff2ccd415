"""Finding the server (nbtrack.wire.discovery): the environment first, else a state file
whose pid is alive and whose server answers ``/healthz`` with that pid; and nbtrack.wire
itself loads nothing but the standard library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nbtrack.wire import discovery


@pytest.fixture()
def healthz() -> Iterator[tuple[str, dict[str, Any]]]:
    """A tiny server answering ``/healthz`` with whatever ``answer`` holds."""
    answer: dict[str, Any] = {"ok": True, "pid": os.getpid()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(answer).encode()
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", answer
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_live_server_is_found(healthz: tuple[str, dict[str, Any]]) -> None:
    url, _ = healthz
    state = {"pid": os.getpid(), "url": url, "token": "t"}
    assert discovery.live(state) == discovery.ServerInfo(url, "t", os.getpid())


def test_a_server_answering_for_another_pid_is_not_it(healthz: tuple[str, dict[str, Any]]
                                                      ) -> None:
    url, answer = healthz
    answer["pid"] = os.getpid() + 1  # e.g. the port was reused by another server
    assert discovery.live({"pid": os.getpid(), "url": url, "token": "t"}) is None


def test_stale_or_broken_states_are_not_servers(healthz: tuple[str, dict[str, Any]]) -> None:
    url, _ = healthz
    assert discovery.live(None) is None
    assert discovery.live({"pid": -1, "url": url, "token": "t"}) is None  # no such process
    assert discovery.live({"pid": os.getpid(), "url": url}) is None  # no token
    assert discovery.live({"pid": os.getpid(), "url": "http://127.0.0.1:9", "token": "t"}) is None


def test_the_environment_names_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBTRACK_BASE_URL", raising=False)
    assert discovery.from_environment() is None
    monkeypatch.setenv("NBTRACK_BASE_URL", "http://team:8080/")
    monkeypatch.delenv("NBTRACK_API_KEY", raising=False)
    assert discovery.from_environment() == ("http://team:8080", "")
    monkeypatch.setenv("NBTRACK_API_KEY", "k")
    assert discovery.from_environment() == ("http://team:8080", "k")


def test_wire_loads_only_the_standard_library() -> None:
    code = """
import sys
before = set(sys.modules)
import nbtrack.wire
from nbtrack.wire import (config, datadir, discovery, downsample, files, output, statefile,
                          strictjson, urls)
new = sorted(m for m in set(sys.modules) - before
             if m.split(".")[0] not in sys.stdlib_module_names)
print(" ".join(new))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert all(m in ("nbtrack", "nbtrack.version") or m.startswith("nbtrack.wire")
               for m in out), out

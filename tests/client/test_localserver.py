"""resolve_server / find_local_server: which server, with which key, without starting one.

(Starting a real server, concurrently and on a full disk: tests/server/test_launcher.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from nbtrack.client.localserver import (
    ServerInfo,
    ServerNotFound,
    find_local_server,
    resolve_server,
    state_path,
)


@pytest.fixture
def pids(nbtrack_dir: Path) -> Iterator[list[int]]:
    """Two live child processes to name in state files. The state file goes at teardown:
    the session's clean-up SIGTERMs every pid a state file names."""
    # why: a process that merely stays alive (its pid is what the state file names)
    children = [subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                 stdin=subprocess.PIPE) for _ in range(2)]
    yield [c.pid for c in children]
    state_path(nbtrack_dir).unlink(missing_ok=True)
    for c in children:
        c.kill()
        c.wait()


@pytest.fixture
def healthz(pids: list[int]) -> Iterator[str]:
    """A stand-in for a live local server whose ``GET /healthz`` names ``pids[0]``."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"ok": True, "pid": pids[0]}).encode()
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def write_state(nbtrack_dir: Path, **state: Any) -> None:
    path = state_path(nbtrack_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state))


def test_an_explicit_url_and_key_win(nbtrack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_BASE_URL", "https://env.example")
    monkeypatch.setenv("NBTRACK_API_KEY", "env-key")
    assert resolve_server("https://given.example/", "given-key") == (
        "https://given.example", "given-key"
    )
    assert resolve_server("https://given.example") == ("https://given.example", "env-key")
    assert resolve_server() == ("https://env.example", "env-key")


def test_the_key_of_a_url_falls_back_to_netrc(tmp_path: Path, nbtrack_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    netrc_file = tmp_path / ".netrc"
    netrc_file.write_text("machine track.example.org login api password nbk-from-netrc\n")
    netrc_file.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_server("https://track.example.org") == (
        "https://track.example.org", "nbk-from-netrc"
    )
    assert resolve_server("https://other.example.org") == ("https://other.example.org", "")


def test_no_local_server_without_starting_one_says_why(nbtrack_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_BASE_URL", "https://env.example")  # local=True ignores it
    path = state_path(nbtrack_dir)
    with pytest.raises(ServerNotFound, match="No live server was found through"):
        resolve_server(local=True, start=False)
    dead = 2**22 + 12345  # above the largest pid_max Linux allows: never alive
    write_state(nbtrack_dir, pid=dead, url="http://127.0.0.1:9", token="t")
    with pytest.raises(ServerNotFound) as ei:
        resolve_server(local=True, nbtrack_dir=nbtrack_dir, start=False)
    assert str(ei.value) == f"The server named in {path} does not answer."
    assert find_local_server(nbtrack_dir) is None
    assert not (nbtrack_dir / "server" / "server.log").exists()  # nothing was started


def test_a_live_local_server_is_found_with_its_token(nbtrack_dir: Path, healthz: str,
                                                     pids: list[int]) -> None:
    write_state(nbtrack_dir, pid=pids[0], url=healthz + "/", token="tok")
    assert find_local_server(nbtrack_dir) == ServerInfo(url=healthz + "/", token="tok",
                                                        pid=pids[0])
    assert resolve_server(start=False) == (healthz, "tok")
    assert resolve_server(api_key="account-key", start=False) == (healthz, "account-key")


def test_a_state_file_naming_another_pid_is_not_trusted(nbtrack_dir: Path, healthz: str,
                                                        pids: list[int]) -> None:
    write_state(nbtrack_dir, pid=pids[1], url=healthz, token="tok")  # alive, not healthz's
    assert find_local_server(nbtrack_dir) is None

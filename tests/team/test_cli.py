"""``nbtrack server [server options] user|key ...`` through the ``nbtrack`` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any


def test_nbtrack_server_passes_options_and_account_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/a.db"

    def nbtrack(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "nbtrack.cli.main", "server", "--db", db, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert nbtrack("user", "add", "alice", "--team", "research").returncode == 0
    assert nbtrack("user", "list").stdout == "alice\tresearch\n"
    created = nbtrack("key", "create", "alice")
    assert created.returncode == 0 and created.stdout.count("\n") == 1
    key_id = created.stdout.split("-")[0]
    assert nbtrack("key", "list").stdout.startswith(f"{key_id}\talice\tactive")
    assert nbtrack("key", "revoke", key_id).returncode == 0
    assert "revoked" in nbtrack("key", "list", "alice").stdout


def test_a_refused_request_is_one_clear_line_not_a_traceback(live_server: Any) -> None:
    """A wrong key (or any refusal) ends the command with the server's answer and rc 1."""
    out = subprocess.run(
        [sys.executable, "-m", "nbtrack", "runs", "--base-url", live_server.url,
         "--api-key", "not-a-key"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 1, out
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.splitlines()[-1].startswith("nbtrack runs: read API GET: HTTP 401"), \
        out.stderr
    assert "401" in out.stderr and "not-a-key" not in out.stderr + out.stdout

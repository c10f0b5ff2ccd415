"""The local server's state file (nbtrack.wire.statefile): where it is, owner-only and
atomic, removed only by its own server, trusted only while its pid is alive."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nbtrack.wire import datadir, statefile

from helpers.wait import wait_until


def test_it_lives_in_the_data_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert statefile.path(tmp_path) == tmp_path / "server" / "state.json"
    monkeypatch.setenv("NBTRACK_DIR", str(tmp_path / "d"))
    assert statefile.path(datadir.default_root()) == tmp_path / "d" / "server" / "state.json"
    monkeypatch.delenv("NBTRACK_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert datadir.default_root() == tmp_path / "xdg" / "nbtrack"


def test_written_with_mode_0600_and_read_back(tmp_path: Path) -> None:
    path = statefile.path(tmp_path)
    old = os.umask(0)  # even a permissive umask gives an owner-only file
    try:
        statefile.write_state(path, {"pid": 1, "token": "secret"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert statefile.read_state(path) == {"pid": 1, "token": "secret"}
    path.chmod(0o644)  # an existing file is replaced, not reused with its mode
    statefile.write_state(path, {"pid": 2, "token": "t"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp file left


def test_unreadable_states_are_none(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert statefile.read_state(path) is None  # missing
    path.write_text('{"pid": 1')  # half written
    assert statefile.read_state(path) is None
    path.write_text(json.dumps([1, 2]))  # not an object
    assert statefile.read_state(path) is None


def test_removed_only_by_the_server_it_describes(tmp_path: Path) -> None:
    path = statefile.path(tmp_path)
    statefile.write_state(path, {"pid": 10, "token": "mine"})
    assert not statefile.remove_if_own(path, 11, "mine")
    assert not statefile.remove_if_own(path, 10, "other")
    assert path.exists()
    assert statefile.remove_if_own(path, 10, "mine")
    assert not path.exists()
    assert not statefile.remove_if_own(path, 10, "mine")  # already gone


def test_pid_alive() -> None:
    assert statefile.pid_alive(os.getpid())
    for bad in (None, "123", 0, -5, 1.5):
        assert not statefile.pid_alive(bad)
    child = subprocess.Popen([sys.executable, "-c", "pass"])

    def zombie() -> bool:  # exited but not reaped: a zombie is not alive
        with open(f"/proc/{child.pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] == b"Z"

    wait_until(zombie, 30, message="the child never became a zombie")
    assert not statefile.pid_alive(child.pid)
    child.wait()
    assert not statefile.pid_alive(child.pid)  # reaped: gone

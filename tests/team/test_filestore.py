"""The local FileStore: one directory per entity/project/run, names that can't escape."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from nbtrack.server.storage.files import LocalFileStore


def test_write_read_list_delete(tmp_path: Path) -> None:
    fs = LocalFileStore(tmp_path)
    assert fs.write("e", "p", "r", "a/b.txt", io.BytesIO(b"hello"), 5) == 5
    assert (tmp_path / "e" / "p" / "r" / "a" / "b.txt").read_bytes() == b"hello"
    f = fs.open_read("e", "p", "r", "a/b.txt")
    assert f is not None
    with f:
        assert f.read() == b"hello"
    assert fs.open_read("e", "p", "r", "nope") is None
    assert fs.list("e", "p", "r") == [("a/b.txt", 5)]
    assert fs.list("e", "p", "other") == []
    assert fs.delete("e", "p", "r", "a/b.txt") and not fs.delete("e", "p", "r", "a/b.txt")
    for bad in ("../x", "/abs", "a/../../b", "a\\b", ""):
        with pytest.raises(ValueError):
            fs.open_read("e", "p", "r", bad)
    with pytest.raises(ValueError):
        fs.write("..", "p", "r", "x", io.BytesIO(b""), 0)

"""Where uploaded run files live: one directory per entity/project/run on the server's disk.

Behind a small interface (``FileStore``): the server writes and reads files only through
it, so an object store (:mod:`.s3`, ``--files s3://bucket/prefix``) serves every replica
alike. Names are checked twice: :func:`safe_name` refuses
``..``, absolute and backslash parts, and the resolved path (:func:`target`) must stay
under the run's directory. Writes go through a temp file, so a file appears whole or not
at all.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from io import BufferedIOBase
from pathlib import Path
from typing import BinaryIO, Protocol

_CHUNK = 256 * 1024


def safe_name(name: str) -> str | None:
    """The normalized relative file name, or None when it could escape its directory."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return None
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    return "/".join(parts)


def target(files_dir: Path, entity: str, project: str, run: str, name: str) -> Path | None:
    """Where a file is stored; None when it would resolve outside the run's directory."""
    base = (files_dir / entity / project / run).resolve()
    path = (base / name).resolve()
    if base != path and base not in path.parents:
        return None
    return path


def store(src: BufferedIOBase, length: int, path: Path) -> int:
    """Copy exactly ``length`` bytes to ``path`` through a temp file; returns the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    remaining = length
    try:
        with open(tmp, "wb") as f:
            while remaining > 0:
                chunk = src.read(min(_CHUNK, remaining))
                if not chunk:
                    raise ConnectionError("the client closed the connection mid-upload")
                f.write(chunk)
                remaining -= len(chunk)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return length


class FileStoreUnavailable(OSError):
    """The object store cannot be reached or refused the operation (answered with 503)."""


@dataclass
class StoredFile:
    """A stored file opened for reading: its size and a stream the caller closes."""

    name: str
    size: int
    stream: BinaryIO

    def read(self, n: int = -1) -> bytes:
        return self.stream.read(n)

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> StoredFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileStore(Protocol):
    def write(
        self, entity: str, project: str, run: str, name: str, src: BufferedIOBase, length: int
    ) -> int: ...
    def open_read(self, entity: str, project: str, run: str, name: str) -> StoredFile | None: ...
    def list(self, entity: str, project: str, run: str) -> list[tuple[str, int]]: ...
    def delete(self, entity: str, project: str, run: str, name: str) -> bool: ...


class LocalFileStore:
    """``<root>/<entity>/<project>/<run>/<name>``; writes go through a temp file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, entity: str, project: str, run: str, name: str) -> Path:
        clean = safe_name(name)
        path = clean and target(self.root, entity, project, run, clean)
        if not path or not all(safe_name(p) == p for p in (entity, project, run)):
            raise ValueError(f"invalid file name {name!r}")
        return path

    def write(
        self, entity: str, project: str, run: str, name: str, src: BufferedIOBase, length: int
    ) -> int:
        """Copy exactly ``length`` bytes from ``src``; the file appears whole or not at all."""
        return store(src, length, self._path(entity, project, run, name))

    def open_read(self, entity: str, project: str, run: str, name: str) -> StoredFile | None:
        path = self._path(entity, project, run, name)
        try:
            f = open(path, "rb")  # noqa: SIM115  (the caller closes it)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        return StoredFile(path.name, os.fstat(f.fileno()).st_size, f)

    def list(self, entity: str, project: str, run: str) -> list[tuple[str, int]]:
        base = self.root / entity / project / run
        if not base.is_dir():
            return []
        out = []
        for dirpath, _, names in os.walk(base):
            for n in names:
                if n.startswith(".") and n.endswith(".part"):
                    continue  # an upload in progress
                p = Path(dirpath) / n
                out.append((p.relative_to(base).as_posix(), p.stat().st_size))
        return sorted(out)

    def delete(self, entity: str, project: str, run: str, name: str) -> bool:
        with contextlib.suppress(FileNotFoundError):
            self._path(entity, project, run, name).unlink()
            return True
        return False

"""Where uploaded run files live: one directory per entity/project/run on the server's disk.

Behind a small interface (``FileStore``) so an object store can implement it later; the
server only calls these methods. Names are checked by :func:`uploads.safe_name` and the
resolved path must stay under the run's directory.
"""

from __future__ import annotations

import contextlib
import os
from io import BufferedIOBase
from pathlib import Path
from typing import BinaryIO, Protocol

from nbtrack.server import uploads


class FileStore(Protocol):
    def write(
        self, entity: str, project: str, run: str, name: str, src: BufferedIOBase, length: int
    ) -> int: ...
    def open_read(self, entity: str, project: str, run: str, name: str) -> BinaryIO | None: ...
    def list(self, entity: str, project: str, run: str) -> list[tuple[str, int]]: ...
    def delete(self, entity: str, project: str, run: str, name: str) -> bool: ...


class LocalFileStore:
    """``<root>/<entity>/<project>/<run>/<name>``; writes go through a temp file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, entity: str, project: str, run: str, name: str) -> Path:
        clean = uploads.safe_name(name)
        target = clean and uploads.target(self.root, entity, project, run, clean)
        if not target or not all(uploads.safe_name(p) == p for p in (entity, project, run)):
            raise ValueError(f"invalid file name {name!r}")
        return target

    def write(
        self, entity: str, project: str, run: str, name: str, src: BufferedIOBase, length: int
    ) -> int:
        """Copy exactly ``length`` bytes from ``src``; the file appears whole or not at all."""
        return uploads.store(src, length, self._path(entity, project, run, name))

    def open_read(self, entity: str, project: str, run: str, name: str) -> BinaryIO | None:
        path = self._path(entity, project, run, name)
        try:
            return open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

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

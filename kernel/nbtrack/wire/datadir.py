"""The per-user data directory every nbtrack process agrees on.

Kernels write their run logs below it and find the local server through
``<root>/server/state.json`` (:mod:`nbtrack.wire.statefile`); ``nbtrack server`` keeps its
database, files and state file in ``<root>/server/``; the Jupyter extension looks there too.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "NBTRACK_DIR"


def default_root() -> Path:
    """The per-user data directory, honouring NBTRACK_DIR and XDG_DATA_HOME."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "nbtrack"


def server_dir(root: Path) -> Path:
    """The local server's directory under a data directory."""
    return Path(root) / "server"


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Create ``path`` and each missing parent as 0700 (mkdir's ``parents=True`` would use
    the umask for the parents). ``tighten``: also chmod an existing directory to 0700, for
    the directories nbtrack owns outright (the server's), whose files hold keys, sessions'
    login links and every run's data."""
    path = Path(path)
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(d, PRIVATE_DIR)  # mkdir's mode is masked by the umask: say it exactly
    if tighten and path.stat().st_mode & 0o077:
        os.chmod(path, PRIVATE_DIR)
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_APPEND | os.O_CREAT) -> int:
    """``os.open`` a file as 0600 (an existing file is tightened to 0600 too)."""
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, PRIVATE_FILE)
    except OSError:
        os.close(fd)
        raise
    return fd

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

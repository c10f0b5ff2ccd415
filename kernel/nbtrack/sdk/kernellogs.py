"""In a kernel, nbtrack's log lines go to the run's ``debug.log``, not into cells.

Background threads log retries and refusals; with no handler configured, Python's
last-resort handler writes them to ``sys.stderr``, which a kernel routes into whichever
cell runs at the time ("graphql: ConnectionError talking to ..." under a training cell).
What the user must know reaches them another way: the widget's network banner and the
finish outcome. In a kernel the ``nbtrack`` logger therefore writes to the current run's
``debug.log`` (0600, like the rest of the run directory), as W&B's ``debug-internal.log``
does; in scripts and the CLI nothing changes.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

__all__ = ["FILE_NAME", "route_to_run"]

FILE_NAME = "debug.log"
_FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"
_handler: dict[str, logging.FileHandler] = {}


def _in_kernel() -> bool:
    """A Jupyter kernel's shell (it has a ``kernel``); a terminal IPython prints to the
    terminal, where lines under the prompt are what a user expects."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def route_to_run(run_dir: Path) -> Path | None:
    """In a kernel, send the ``nbtrack`` logger's lines to ``run_dir/debug.log`` from now
    on (the previous run's file is closed); None elsewhere."""
    if not _in_kernel():
        return None
    path = run_dir / FILE_NAME
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # private first
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger = logging.getLogger("nbtrack")
    old = _handler.pop("current", None)
    logger.addHandler(handler)
    if old is not None:
        logger.removeHandler(old)
        old.close()
    _handler["current"] = handler
    return path

"""The exit code that runs still open when the process ends are finished with.

Python runs the at-exit finish however the process ends, so without this a script that
died of an exception, or a kernel shut down or restarted in the middle of a training cell,
would leave its run stored "finished" with exit code 0, looking complete.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["KILLED", "at_exit", "watch_cells"]

KILLED = 255  # cut off: W&B's exit code for a run ended by KeyboardInterrupt

# "cut": a cell is running, or the last one ended by KeyboardInterrupt (a kernel restart or
# shutdown interrupts the running cell before the at-exit finish, like Ctrl-C does)
_cells: dict[str, Any] = {"shell": None, "cut": False}


def _shell() -> Any:
    """The running IPython shell, or None (IPython is never imported for it)."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def _pre_run_cell(*args: Any, **kwargs: Any) -> None:
    _cells["cut"] = True


def _post_run_cell(*args: Any, **kwargs: Any) -> None:
    result = args[0] if args else kwargs.get("result")
    _cells["cut"] = isinstance(getattr(result, "error_in_exec", None), KeyboardInterrupt)


def watch_cells() -> None:
    """In IPython, follow whether a cell is running (its pre/post_run_cell events), once."""
    shell = _shell()
    if shell is None or _cells["shell"] is shell:
        return
    shell.events.register("pre_run_cell", _pre_run_cell)
    shell.events.register("post_run_cell", _post_run_cell)
    _cells["shell"] = shell
    _cells["cut"] = True  # called from init, inside the cell that is running now


def at_exit() -> int:
    """255 when a kernel ends in the middle of a cell (or after an interrupted one) or a
    script ends by KeyboardInterrupt; 1 after another uncaught exception; else 0."""
    if _cells["shell"] is not None:
        # IPython sets sys.last_value for every failed cell: it says nothing about the end
        return KILLED if _cells["cut"] else 0
    error = getattr(sys, "last_value", None)  # set by the interpreter for an uncaught one
    if error is None:
        return 0
    return KILLED if isinstance(error, KeyboardInterrupt) else 1

"""nbtrack: experiment tracking that lives inside the Jupyter kernel.

    import nbtrack
    run = nbtrack.init(project="demo", config={"lr": 0.01})
    for step in range(100):
        run.log({"loss": 1 / (step + 1)})
    run.finish()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nbtrack.version import __version__

if TYPE_CHECKING:
    from nbtrack import hooks
    from nbtrack.api import Api, ApiError, ApiRun
    from nbtrack.run_object import Run, RunFinishedError, RunStopRequested
    from nbtrack.sdk import InitError, current_run, finish, init, log

__all__ = [
    "Api",
    "ApiError",
    "ApiRun",
    "InitError",
    "Run",
    "RunFinishedError",
    "RunStopRequested",
    "__version__",
    "current_run",
    "finish",
    "hooks",
    "init",
    "load_ipython_extension",
    "log",
    "unload_ipython_extension",
]

# Imported on first use, so `import nbtrack` stays cheap and stages import alone.
_LAZY = {
    "Api": "nbtrack.api", "ApiError": "nbtrack.api", "ApiRun": "nbtrack.api",
    "Run": "nbtrack.run_object", "RunFinishedError": "nbtrack.run_object",
    "RunStopRequested": "nbtrack.run_object",
    "InitError": "nbtrack.sdk", "current_run": "nbtrack.sdk", "finish": "nbtrack.sdk",
    "init": "nbtrack.sdk", "log": "nbtrack.sdk",
}


def __getattr__(name: str) -> Any:
    if name == "run":
        return importlib.import_module("nbtrack.sdk").current_run()
    if name == "hooks":
        return importlib.import_module("nbtrack.hooks")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbtrack``: register the magics and the run widget."""
    from nbtrack.notebook.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext nbtrack``: finish open runs, remove magics, hooks and threads."""
    from nbtrack.notebook.extension import unload

    unload(ipython)

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
    from nbtrack.client.readapi import Api, ApiError, ApiRun
    from nbtrack.sdk import hooks
    from nbtrack.sdk.media import Histogram, Image, Table
    from nbtrack.sdk.run import Run, RunFinishedError
    from nbtrack.sdk.session import InitError, current_run, finish, init, log
    from nbtrack.sdk.stop import RunStopRequested

__all__ = [
    "Api",
    "ApiError",
    "ApiRun",
    "Histogram",
    "Image",
    "InitError",
    "Run",
    "RunFinishedError",
    "RunStopRequested",
    "Table",
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
    "Api": "nbtrack.client.readapi", "ApiError": "nbtrack.client.readapi",
    "ApiRun": "nbtrack.client.readapi",
    "Run": "nbtrack.sdk.run", "RunFinishedError": "nbtrack.sdk.run",
    "RunStopRequested": "nbtrack.sdk.stop",
    "Image": "nbtrack.sdk.media", "Histogram": "nbtrack.sdk.media", "Table": "nbtrack.sdk.media",
    "InitError": "nbtrack.sdk.session", "current_run": "nbtrack.sdk.session",
    "finish": "nbtrack.sdk.session",
    "init": "nbtrack.sdk.session", "log": "nbtrack.sdk.session",
}


def __getattr__(name: str) -> Any:
    if name == "run":
        return importlib.import_module("nbtrack.sdk.session").current_run()
    if name == "hooks":
        return importlib.import_module("nbtrack.sdk.hooks")
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

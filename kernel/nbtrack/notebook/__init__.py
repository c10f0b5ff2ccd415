"""The notebook layer: magics, the run widget and its UI thread, display forms.

``%load_ext nbtrack`` (or ``%load_ext nbtrack.notebook``) loads it.
"""

from __future__ import annotations

from typing import Any

from nbtrack.notebook.extension import on_run_init


def load_ipython_extension(ipython: Any) -> None:
    from nbtrack.notebook.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from nbtrack.notebook.extension import unload

    unload(ipython)


__all__ = ["load_ipython_extension", "on_run_init", "unload_ipython_extension"]

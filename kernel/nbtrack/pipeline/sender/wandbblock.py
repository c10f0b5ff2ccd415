"""The fields W&B clients send about themselves in the config's ``_wandb`` block.

W&B's backend and tools read them (``t`` tells a started run, the versions and the
platform show in the run's overview), so nbtrack sends the same fields with its own
values: ``cli_version`` is nbtrack's version, ``t`` is W&B's telemetry encoding
(``wandb_telemetry.proto`` field numbers: ``4`` python_version, ``5`` cli_version, ``13``
platform). Not sent: ``t.3`` (numbers of wandb's own feature enum), ``t.12`` (the
wandb-core version) and ``e`` (wandb's per-writer environment; nbtrack uploads it as
``wandb-metadata.json``). Computed once per process: nothing of it changes.
"""

from __future__ import annotations

import functools
import platform
import sys
from typing import Any

from nbtrack.version import __version__

__all__ = ["client_block"]


@functools.cache
def _static() -> dict[str, Any]:
    py = platform.python_version()
    return {"cli_version": __version__, "python_version": py,
            "t": {"4": py, "5": __version__, "13": f"{sys.platform}-{platform.machine()}"}}


def client_block() -> dict[str, Any]:
    """``cli_version``, ``python_version``, ``t`` and, inside a Jupyter kernel,
    ``is_jupyter_run: true`` (W&B sends it only then)."""
    out = {**_static(), "t": dict(_static()["t"])}
    if _in_kernel():
        out["is_jupyter_run"] = True
    return out


def _in_kernel() -> bool:
    """A running Jupyter kernel (imported is not enough: test runners import ipykernel)."""
    app = sys.modules.get("ipykernel.kernelapp")
    try:
        return bool(app is not None and app.IPKernelApp.initialized())
    except Exception:  # an odd ipykernel: not worth failing a config upsert for
        return False

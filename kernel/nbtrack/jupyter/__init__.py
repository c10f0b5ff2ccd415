"""nbtrack's Jupyter server extension: run pages served through Jupyter itself.

Enabled by ``etc/jupyter/jupyter_server_config.d/nbtrack.json`` (installed by ``pip
install``). The routes live under ``<base_url>nbtrack/`` and need Jupyter's own login; the
extension finds the tracking server like the kernel does and forwards read requests only,
adding the server's token itself. This module stays importable without jupyter_server: the
tracking server reuses :mod:`nbtrack.pages.shell` (the page shell and static files).
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from nbtrack.jupyter.handlers import load

    load(serverapp)


# the pre-2.0 name, still looked up by some front ends
load_jupyter_server_extension = _load_jupyter_server_extension

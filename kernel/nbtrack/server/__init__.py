"""The nbtrack tracking server: a W&B-wire-compatible HTTP server in its own process.

Imports only the standard library (and nbtrack.server modules) so that it starts fast.
"""

from __future__ import annotations

from nbtrack.server.main import main, serve

__all__ = ["main", "serve"]

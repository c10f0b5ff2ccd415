"""The nbtrack tracking server: a W&B-wire-compatible HTTP server in its own process.

Imports only the standard library, :mod:`nbtrack.wire` and the pages' shell (psycopg only
for a PostgreSQL URL), so that it starts fast. Its parts, top to bottom: ``main`` (start-up,
CLI), ``http`` (routing, request auth, body limits), ``pages`` and ``wandb`` (the run pages;
what a W&B client talks to), ``readapi`` (the JSON read API, history levels), ``auth`` and
``runextras``, ``context``, ``storage``.
"""

from __future__ import annotations

from nbtrack.server.main import main, serve

__all__ = ["main", "serve"]

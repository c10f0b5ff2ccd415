"""The HTTP paths of the tracking server, as every client builds them and it routes them.

The W&B wire: ``POST /graphql``, ``POST /files/<entity>/<project>/<run>/file_stream``, a
run's page at ``/<entity>/<project>/runs/<run>`` and the clients' telemetry under
``/sdk/otel/``. nbtrack's own: ``GET /healthz`` (``{"ok", "pid", "version"}``), the JSON
read API under ``/api/v1/``, a one-time pages login code at ``POST /api/v1/login-code`` and
the run pages under ``/pages/`` (logged in by ``/pages/login?once=<code>[&next=<page>]``).
"""

from __future__ import annotations

import re
import urllib.parse
from urllib.parse import urlencode

HEALTHZ = "/healthz"
GRAPHQL = "/graphql"
TELEMETRY = "/sdk/otel/"  # W&B clients export OpenTelemetry here, without credentials
API = "/api/v1/"
LOGIN_CODE = API + "login-code"
PAGES = "/pages/"
PAGES_LOGIN = PAGES + "login"

FILE_STREAM = re.compile(r"^/files/([^/]+)/([^/]+)/([^/]+)/file_stream/?$")
RUN_PAGE = re.compile(r"^/([^/]+)/([^/]+)/runs/([^/]+)/?$")  # W&B's run URL (run.url)


def file_stream_path(entity: str, project: str, run_id: str) -> str:
    """``/files/<entity>/<project>/<run>/file_stream``, each part quoted."""
    path = "/".join(urllib.parse.quote(p, safe="") for p in (entity, project, run_id))
    return f"/files/{path}/file_stream"


def parse_file_stream_path(path: str) -> tuple[str, str, str] | None:
    """``(entity, project, run)`` of a file_stream path (unquoted), or None."""
    m = FILE_STREAM.match(path)
    if m is None:
        return None
    entity, project, run_id = (urllib.parse.unquote(g) for g in m.groups())
    return entity, project, run_id


def run_url(base_url: str, entity: str, project: str, run_id: str) -> str:
    """A run's W&B-style URL, what ``run.url`` says (the server redirects it to its page)."""
    return f"{base_url.rstrip('/')}/{entity}/{project}/runs/{run_id}"


def pages_login(code: str, target: str | None = None) -> str:
    """The path + query that logs a browser in once with ``code`` and opens ``target``
    (a pages path: ``""`` the runs table, ``runs/<e>/<p>/<id>`` a run; None: no ``next``,
    the server opens its runs table)."""
    if target is None:
        return f"{PAGES_LOGIN}?once={code}"
    return f"{PAGES_LOGIN}?" + urlencode({"once": code, "next": PAGES + target.lstrip("/")},
                                         safe="/")

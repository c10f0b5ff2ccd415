"""A read API for people and tests, shaped like W&B's public API.

The server sends NaN / ±inf as the strings "NaN" / "Infinity" / "-Infinity" (strict JSON);
history rows, system metrics, config and summary give them back as floats. Media values
in history rows come back as objects that fetch their file (:mod:`nbtrack.client.media`).

It goes through the same :class:`~nbtrack.client.httpclient.HTTPClient` as the sender,
so it gets the same retry policy: reads (and the idempotent stop request) are retried
on connection errors, timeouts, 408, 429 and 5xx, for at most ``max_retry_time``
seconds, so a notebook cell or a CLI command never waits forever.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from nbtrack.client import links
from nbtrack.client.errors import TransportError
from nbtrack.client.httpclient import HTTPClient
from nbtrack.client.localserver import resolve_server
from nbtrack.client.media import wrap_row
from nbtrack.client.transports import BaseTransport
from nbtrack.wire import urls
from nbtrack.wire.output import parse_line
from nbtrack.wire.strictjson import decode

# rows per history page: a page of 10-metric rows is ~15 MB of JSON on the server
HISTORY_PAGE = 50_000


class ApiError(TransportError, RuntimeError):
    """The server refused or failed a read (``status``), or did not answer in time
    (``status`` None)."""


class Api:
    """Reads runs from a server: the one given, NBTRACK_BASE_URL, or the local one
    (see :func:`~nbtrack.client.localserver.resolve_server`)."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retry_time: float = 20.0,
        transport: BaseTransport | None = None,
        random: Callable[[], float] = _random.random,
    ) -> None:
        url, key = resolve_server(base_url, api_key)
        self.http = HTTPClient(url, key, timeout=timeout, max_retry_time=max_retry_time,
                               transport=transport, random=random)
        self.base_url = self.http.base_url
        self._key = key

    def __repr__(self) -> str:
        return f"<nbtrack.Api {self.base_url}>"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return self.http.request(method, path, params=params, what=f"read API {method}")
        except TransportError as e:
            raise ApiError(str(e), e.status, aborted=e.aborted) from None

    @staticmethod
    def _json(resp: Any, method: str, path: str) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise ApiError(f"read API {method} {path}: the answer is not JSON",
                           resp.status_code) from None

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._json(self._send(method, path, params), method, path)

    def _post(self, path: str) -> Any:
        return self._call("POST", path)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, params)

    def _get_rows(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """``rows`` of a history / events answer, the wire strings of NaN / ±inf as floats
        (the walk is skipped when the body holds none, as in nearly every answer)."""
        resp = self._send("GET", path, params)
        rows = list(self._json(resp, "GET", path)["rows"])
        content = resp.content
        return list(decode(rows)) if b'"NaN"' in content or b'Infinity"' in content else rows

    def _get_page(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """One page of a history answer: ``rows`` (NaN / ±inf as floats), ``next_cursor``."""
        resp = self._send("GET", path, params)
        page = dict(self._json(resp, "GET", path))
        content = resp.content
        if b'"NaN"' in content or b'Infinity"' in content:
            page["rows"] = list(decode(page["rows"]))
        page["has_media"] = b'"_type"' in content  # else no row needs wrap_row's walk
        return page

    def viewer(self) -> dict[str, Any]:
        return self._get(urls.API + "viewer")

    def login_url(self, target: str = "") -> str:
        """A link that logs one browser in to the server's run pages, once, and opens
        ``/pages/<target>`` (``""``: the runs table; ``runs/<e>/<p>/<id>``: a run).

        Why a code and not the key: the link is printed and may end up in a notebook or a
        terminal's scrollback. The code is not the key, expires (15 minutes), is spent by the
        first login and sees what this key sees.
        """
        code = self._post(urls.LOGIN_CODE)["code"]
        if not isinstance(code, str) or not code:
            raise ValueError("the server answered no login code")
        return self.base_url + urls.pages_login(code, target)

    def link(self, target: str = "") -> links.Link:
        """The link a person opens for ``target`` (``""``: the runs table; print it as is):
        through Jupyter inside Jupyter, else logging the browser in once
        (:mod:`nbtrack.client.links`)."""
        found = links.link_to(target, server_url=self.base_url, api_key=self._key)
        assert found is not None  # a server is known
        return found

    def runs(self, project: str | None = None, entity: str | None = None) -> list[ApiRun]:
        params = {k: v for k, v in (("project", project), ("entity", entity)) if v}
        data = self._get(urls.API + "runs", params)
        return [ApiRun(self, item) for item in data.get("runs", [])]

    def run(self, path: str) -> ApiRun:
        """``entity/project/run_id`` (or ``project/run_id`` for the default entity)."""
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            parts.insert(0, self.viewer().get("entity", ""))
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"run path {path!r}: expected 'entity/project/run_id'")
        return ApiRun(self, self._get(urls.API + "runs/" + "/".join(quote(p, safe="")
                                                                   for p in parts)))


class ApiRun:
    """One run as the server holds it."""

    def __init__(self, api: Api, data: dict[str, Any]) -> None:
        self._api = api
        self.data = _values_decoded(data)

    id = property(lambda self: self.data["id"])
    entity = property(lambda self: self.data["entity"])
    project = property(lambda self: self.data["project"])
    name = property(lambda self: self.data.get("name") or self.data["id"])
    state = property(lambda self: self.data["state"])
    config = property(lambda self: self.data.get("config") or {})
    summary = property(lambda self: self.data.get("summary") or {})
    tags = property(lambda self: self.data.get("tags") or [])
    last_step = property(lambda self: self.data.get("last_step"))

    @property
    def path(self) -> str:
        return f"{self.entity}/{self.project}/{self.id}"

    def link(self) -> links.Link:
        """The link a person opens for this run's page (see :meth:`Api.link`)."""
        return self._api.link(links.target_of(self.entity, self.project, self.id))

    def _base(self) -> str:
        return urls.API + "runs/" + "/".join(quote(p, safe="") for p in
                                          (self.entity, self.project, self.id))

    def history(self, keys: list[str] | None = None, samples: int | None = None,
                min_step: int | None = None, max_step: int | None = None) -> list[dict[str, Any]]:
        """All rows in step order, or a downsampled set keeping each series' min and max."""
        params: dict[str, Any] = {}
        if keys:
            params["keys"] = ",".join(keys)
        if samples is not None:
            params["samples"] = int(samples)
        if min_step is not None:
            params["min_step"] = int(min_step)
        if max_step is not None:
            params["max_step"] = int(max_step)
        if samples is not None:
            return [wrap_row(r, self._fetch) for r in
                    self._api._get_rows(self._base() + "/history", params)]
        return list(self._pages(params, HISTORY_PAGE))

    def scan_history(self, keys: list[str] | None = None, min_step: int | None = None,
                     max_step: int | None = None,
                     page_size: int = HISTORY_PAGE) -> Iterator[dict[str, Any]]:
        """Every row in step order, read a page at a time (as W&B's ``scan_history``): a
        long run never sits whole in this process's memory, nor in the server's."""
        params: dict[str, Any] = {}
        if keys:
            params["keys"] = ",".join(keys)
        if min_step is not None:
            params["min_step"] = int(min_step)
        if max_step is not None:
            params["max_step"] = int(max_step)
        return self._pages(params, page_size)

    def _pages(self, params: dict[str, Any], page_size: int) -> Iterator[dict[str, Any]]:
        cursor: str | None = ""
        while cursor is not None:
            page = self._api._get_page(self._base() + "/history",
                                       {**params, "limit": page_size, "cursor": cursor})
            if page.get("has_media"):
                fetch = self._fetch
                for row in page["rows"]:
                    yield wrap_row(row, fetch)
            else:
                yield from page["rows"]
            after = page.get("next_cursor")  # absent: a server that does not page
            cursor = after if isinstance(after, str) and after and after != cursor else None

    def _fetch(self, name: str) -> bytes:
        """One of the run's files, by its name in the run (``media/images/...``)."""
        return bytes(self._api._send("GET", self._base() + "/files/" + quote(name, safe="/"))
                     .content)

    def file(self, name: str) -> bytes:
        """The bytes of the run's file ``name`` (as :meth:`files` lists it)."""
        return self._fetch(name)

    def files(self) -> list[dict[str, Any]]:
        return self._api._get(self._base() + "/files")["files"]

    def console(self) -> list[dict[str, Any]]:
        """The run's console log: ``[{"time": iso, "stream": "stdout"|"stderr", "text"}]``."""
        return [parse_line(line) for line in
                self._api._get(self._base() + "/output")["lines"]]

    def system_metrics(self) -> list[dict[str, Any]]:
        """System metric rows (``system.cpu``, ``system.memory``, ...; ``_runtime``)."""
        return self._api._get_rows(self._base() + "/events")

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts sent with ``run.alert``: ``[{"title", "text", "level", "time"}]``."""
        return list(self._api._get(self._base() + "/alerts")["alerts"])

    def stop(self) -> None:
        """Ask the running run to stop; the kernel notices within its poll interval."""
        self._api._post(self._base() + "/stop")

    @property
    def stop_requested(self) -> bool:
        return bool(self._api._get(self._base() + "/stop")["stop_requested"])

    def refresh(self) -> ApiRun:
        self.data = _values_decoded(self._api._get(self._base()))
        return self

    def __repr__(self) -> str:
        return f"<nbtrack.ApiRun {self.path} state={self.data.get('state')}>"


def _values_decoded(data: dict[str, Any]) -> dict[str, Any]:
    """A run object with its logged values (config, summary) as floats where the wire
    carried NaN / ±inf; names, ids and the rest stay as sent."""
    return {**data, **{k: decode(data[k]) for k in ("config", "summary") if k in data}}

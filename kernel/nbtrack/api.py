"""A read API for people and tests, shaped like W&B's public API.

The server sends NaN / ±inf as the strings "NaN" / "Infinity" / "-Infinity" (strict JSON);
history rows, system metrics, config and summary give them back as floats.
"""

from __future__ import annotations

import math
import os
from typing import Any
from urllib.parse import quote

import requests

from nbtrack.settings import default_root

_TIMEOUT = (5.0, 60.0)
# the server's strict-JSON strings for non-finite floats (nbtrack/server/wirejson.py)
_WIRE_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def decode(value: Any) -> Any:
    """``value`` with the wire strings of NaN / ±inf as floats, at any depth (dict keys as
    they are). Here, not imported from the server: that would load the whole server."""
    if isinstance(value, str):
        return _WIRE_FLOATS.get(value, value)
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class ApiError(RuntimeError):
    """The server refused or failed a read; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Api:
    """Reads runs from a server: the one given, NBTRACK_BASE_URL, or the local one."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None) -> None:
        url = base_url or os.environ.get("NBTRACK_BASE_URL")
        key = api_key or os.environ.get("NBTRACK_API_KEY")
        if not url:
            from nbtrack.launcher import ensure_local_server

            info = ensure_local_server(default_root())
            url, key = info.url, key or info.token
        self.base_url = url.rstrip("/")
        self._session = requests.Session()
        self._session.auth = ("api", key or "")

    def __repr__(self) -> str:
        return f"<nbtrack.Api {self.base_url}>"

    def _post(self, path: str) -> Any:
        resp = self._session.post(self.base_url + path, timeout=_TIMEOUT)
        if resp.status_code != 200:
            raise ApiError(resp.status_code, resp.text[:200])
        return resp.json()

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self._session.get(self.base_url + path, params=params, timeout=_TIMEOUT)
        if resp.status_code != 200:
            raise ApiError(resp.status_code, resp.text[:200])
        return resp.json()

    def _get_rows(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """``rows`` of a history / events answer, the wire strings of NaN / ±inf as floats
        (the walk is skipped when the body holds none, as in nearly every answer)."""
        resp = self._session.get(self.base_url + path, params=params, timeout=_TIMEOUT)
        if resp.status_code != 200:
            raise ApiError(resp.status_code, resp.text[:200])
        rows = list(resp.json()["rows"])
        body = resp.content
        return list(decode(rows)) if b'"NaN"' in body or b'Infinity"' in body else rows

    def viewer(self) -> dict[str, Any]:
        return self._get("/api/v1/viewer")

    def runs(self, project: str | None = None, entity: str | None = None) -> list[ApiRun]:
        params = {k: v for k, v in (("project", project), ("entity", entity)) if v}
        data = self._get("/api/v1/runs", params)
        return [ApiRun(self, item) for item in data.get("runs", [])]

    def run(self, path: str) -> ApiRun:
        """``entity/project/run_id`` (or ``project/run_id`` for the default entity)."""
        parts = path.strip("/").split("/")
        if len(parts) == 2:
            parts.insert(0, self.viewer().get("entity", ""))
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"run path {path!r}: expected 'entity/project/run_id'")
        return ApiRun(self, self._get("/api/v1/runs/" + "/".join(quote(p, safe="") for p in parts)))


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

    def _base(self) -> str:
        return "/api/v1/runs/" + "/".join(quote(p, safe="") for p in
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
        return self._api._get_rows(self._base() + "/history", params)

    def files(self) -> list[dict[str, Any]]:
        return self._api._get(self._base() + "/files")["files"]

    def console(self) -> list[dict[str, Any]]:
        """The run's console log: ``[{"time": iso, "stream": "stdout"|"stderr", "text"}]``."""
        return [_parse_output(line) for line in
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


def _parse_output(line: str) -> dict[str, Any]:
    """``[ERROR ]<iso time> <text>`` (the file_stream ``output.log`` line format)."""
    stream = "stdout"
    if line.startswith("ERROR "):
        stream, line = "stderr", line[6:]
    ts, sep, text = line.partition(" ")
    if not sep or len(ts) < 19 or ts[4:5] != "-":
        return {"time": None, "stream": stream, "text": line}
    return {"time": ts, "stream": stream, "text": text}

"""A read API for people and tests, shaped like W&B's public API."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import requests

from nbtrack.settings import default_root

_TIMEOUT = (5.0, 60.0)


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

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        resp = self._session.get(self.base_url + path, params=params, timeout=_TIMEOUT)
        if resp.status_code != 200:
            raise ApiError(resp.status_code, resp.text[:200])
        return resp.json()

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
        self.data = data

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
        return self._api._get(self._base() + "/history", params)["rows"]

    def files(self) -> list[dict[str, Any]]:
        return self._api._get(self._base() + "/files")["files"]

    def refresh(self) -> ApiRun:
        self.data = self._api._get(self._base())
        return self

    def __repr__(self) -> str:
        return f"<nbtrack.ApiRun {self.path} state={self.data.get('state')}>"

"""The three W&B wire calls the sender makes: GraphQL, ``file_stream`` and uploads.

A thin layer over :class:`~nbtrack.client.httpclient.HTTPClient` (which retries,
authenticates, redacts and keeps the :class:`~nbtrack.client.netstatus.NetStatus`):
this module only knows the W&B endpoints and how their answers look. Only the sender's
worker threads call it; nothing here runs in the user's thread.
"""

from __future__ import annotations

import json
import random as _random
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from nbtrack.client.errors import TransportError
from nbtrack.client.httpclient import HTTPClient, Rediscover
from nbtrack.client.netstatus import NetStatus
from nbtrack.client.policy import MAX_ERROR_TEXT, malformed_answer
from nbtrack.client.transports import BaseTransport, Response
from nbtrack.wire import urls
from nbtrack.wire.ordering import SEQ_HEADER

_JSON = {"Content-Type": "application/json"}


def _headers(seq: int | None) -> dict[str, str]:
    """JSON, and the request's place in the run's order (``wire/ordering.py``) when given."""
    return _JSON if seq is None else {**_JSON, SEQ_HEADER: str(seq)}


def _check(resp: Response) -> str | None:
    """A 2xx that is not a JSON object (a captive portal's page) is not an answer."""
    return malformed_answer(resp.header("Content-Type"), resp.content)


class WandbClient:
    """One W&B-compatible server. Thread-safe.

    The keyword arguments are :class:`HTTPClient`'s: ``timeout`` (read timeout per
    attempt), ``max_retry_time`` (None: retry until ``close()``), ``transport`` and
    ``random`` (the test seams).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        max_retry_time: float | None = None,
        transport: BaseTransport | None = None,
        random: Callable[[], float] = _random.random,
        rediscover: Rediscover | None = None,
    ) -> None:
        self.http = HTTPClient(
            base_url,
            api_key,
            timeout=timeout,
            max_retry_time=max_retry_time,
            transport=transport,
            random=random,
            rediscover=rediscover,
        )

    # -- what the sender reads ------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def status(self) -> NetStatus:
        return self.http.status

    @property
    def timeout(self) -> float:
        return self.http.timeout

    @property
    def max_retry_time(self) -> float | None:
        return self.http.max_retry_time

    @property
    def closed(self) -> bool:
        return self.http.closed

    def close(self) -> None:
        """Abort every retry loop at once and close all connections. Idempotent."""
        self.http.close()

    # -- the calls --------------------------------------------------------------
    def graphql(self, query: str, variables: dict[str, Any] | None = None, *,
                seq: int | None = None) -> dict[str, Any]:
        """POST a GraphQL operation; return its ``data``. GraphQL ``errors`` raise.

        ``seq`` orders an update of the run against the others (``wire/ordering.py``).
        """
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        resp = self.http.request("POST", urls.GRAPHQL, content=body, headers=_headers(seq),
                                 what="graphql", check=_check)
        try:
            answer = resp.json()
        except ValueError as e:
            raise TransportError(
                f"graphql: the server answered {resp.status_code} with a body that is not JSON",
                resp.status_code,
            ) from e
        if not isinstance(answer, dict):
            raise TransportError("graphql: unexpected answer", resp.status_code)
        errors = answer.get("errors")
        if errors:
            msgs = "; ".join(
                str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
            )
            raise TransportError(f"graphql error: {msgs[:MAX_ERROR_TEXT]}", resp.status_code)
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    def file_stream(
        self, entity: str, project: str, run_id: str, payload: dict[str, Any] | bytes, *,
        seq: int | None = None,
    ) -> dict[str, Any]:
        """POST one file_stream chunk; ``payload`` may be pre-serialized JSON bytes.

        The same bytes (and ``seq``) go out on every retry: the server stores lines by
        offset, so a chunk sent twice never duplicates a row. Only a JSON object answer
        acknowledges the lines; any other 2xx body is retried.
        """
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        resp = self.http.request("POST", urls.file_stream_path(entity, project, run_id),
                                 content=body, headers=_headers(seq), what="file_stream",
                                 check=_check)
        try:
            answer = resp.json()
        except ValueError:
            return {}
        return answer if isinstance(answer, dict) else {}

    def upload(self, url: str, path: str | Path, headers: dict[str, str] | None = None) -> int:
        """PUT a file to an upload URL, streamed and reopened for every attempt; returns
        the bytes sent. The API key goes only to our server's origin (see HTTPClient)."""
        p = Path(path)
        try:
            size = p.stat().st_size
        except OSError as e:
            raise TransportError(f"upload {p.name}: {type(e).__name__}: {e.strerror or e}") from e

        def body() -> BinaryIO:
            return p.open("rb")

        self.http.request("PUT", url, content=body, headers=headers, what=f"upload {p.name}")
        return size

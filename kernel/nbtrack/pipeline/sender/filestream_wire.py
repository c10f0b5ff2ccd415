"""The W&B ``file_stream`` wire format and the run's identity on the server.

File names, post bodies, ``output.log`` lines, and the error codes a refused call
becomes. Kept apart from the threads so the format is read and tested on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from nbtrack.client.errors import TransportError
from nbtrack.proto import nbtrack_pb2 as pb


@dataclass(frozen=True)
class RunIdentity:
    """Where the run lives on the server: the path of its file_stream."""

    entity: str
    project: str
    run_id: str


def error_info(code: int, message: str) -> pb.ErrorInfo:
    """An error for a ``RunResult``."""
    return pb.ErrorInfo(code=code, message=message)  # type: ignore[arg-type]


def error_code(e: TransportError) -> int:
    """What a refused GraphQL call means for init: bad key, no such run, conflict, ..."""
    if e.status in (401, 403):
        return pb.ErrorInfo.AUTHENTICATION
    if e.status == 404:
        return pb.ErrorInfo.NOT_FOUND
    if e.status == 409:
        return pb.ErrorInfo.CONFLICT
    if e.status is not None and 400 <= e.status < 500:
        return pb.ErrorInfo.USAGE
    return pb.ErrorInfo.COMMUNICATION


# Lines are JSON-encoded in slices: one json.dumps call holds the GIL for its whole
# duration (~30 ms for a 4 MiB post); slices of 1,000 lines keep each hold near 1 ms
# so the user's training loop is not stalled by a big post.
_ENCODE_SLICE = 1000


def _encode_lines(lines: list[str]) -> str:
    if len(lines) <= _ENCODE_SLICE:
        return json.dumps(lines)
    parts = [
        json.dumps(lines[i : i + _ENCODE_SLICE])[1:-1] for i in range(0, len(lines), _ENCODE_SLICE)
    ]
    return "[" + ",".join(parts) + "]"


def encode_post(files: dict[str, Any], *, complete: bool, exit_code: int | None) -> bytes:
    """The file_stream body, built once (retries re-send these bytes).

    ``complete`` / ``exitcode`` are only present on the final post.
    """
    parts = [
        f'{json.dumps(name)}: {{"offset": {int(f["offset"])}, '
        f'"content": {_encode_lines(f["content"])}}}'
        for name, f in files.items()
    ]
    tail = f', "complete": true, "exitcode": {json.dumps(exit_code)}' if complete else ""
    return ('{"files": {' + ", ".join(parts) + "}" + tail + "}").encode()


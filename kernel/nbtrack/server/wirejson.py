"""Strict JSON (RFC 8259) for every answer of the server, whatever was logged.

Python's ``json`` writes NaN and ±inf as the bare tokens ``NaN`` / ``Infinity`` /
``-Infinity``; the browser's ``JSON.parse`` rejects them, so one NaN in a run would make the
run pages unreadable. Every JSON answer (read API, the pages' API, GraphQL, file_stream)
goes through :func:`dumps`, which writes non-finite floats as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` — the encoding the widget already decodes
(``js/src/format.js`` ``toNumber``). Stored lines spliced unparsed into an answer go through
:func:`join_rows`, which rewrites only the lines that hold a bare token (outside string
literals), so a long clean history costs one substring scan. :func:`decode` turns the wire
strings back into floats for Python readers (:mod:`nbtrack.api`).

The strings are not distinguishable from a logged string ``"NaN"``; readers that convert
numbers (the pages, the widget, :func:`decode`) take them as the number, by contract.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

NAN, INF, NEG_INF = "NaN", "Infinity", "-Infinity"
_FLOATS = {NAN: math.nan, INF: math.inf, NEG_INF: -math.inf}


class RawJSON(bytes):
    """An already-encoded, strict JSON answer (sent as it is)."""


def number(value: float) -> float | str:
    """A float as the wire carries it: finite ones unchanged, NaN / ±inf as their strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return NAN
    return INF if value > 0 else NEG_INF


def finite(value: Any) -> Any:
    """A copy of ``value`` with every non-finite float (at any depth) as its wire string."""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """The answer body of ``value``: strict JSON, non-finite floats as strings.

    Values without NaN / inf (nearly all) are encoded once; only a refused encoding pays for
    the copy of :func:`finite`.
    """
    if isinstance(value, RawJSON):
        return bytes(value)
    try:
        return json.dumps(value, allow_nan=False).encode()
    except ValueError:
        return json.dumps(finite(value), allow_nan=False).encode()


# A string literal (skipped as a whole, so keys and texts holding "NaN" are left alone) or
# a bare token outside any string (group 1, quoted). Stored lines are valid JSON objects
# (file_stream checks them), so the tokens appear nowhere else.
_LITERAL_OR_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?Infinity|NaN)', re.DOTALL)


def _quote(m: re.Match[str]) -> str:
    token = m.group(1)
    return m.group(0) if token is None else f'"{token}"'


def strict_line(line: str) -> str:
    """One stored JSON text with its bare NaN / Infinity / -Infinity tokens as strings."""
    if "NaN" not in line and "Infinity" not in line:
        return line
    return _LITERAL_OR_TOKEN.sub(_quote, line)


def join_rows(lines: list[str], key: str = "rows") -> RawJSON:
    """``{"<key>": [<lines>]}`` from stored JSON lines, without parsing them; only lines
    holding a token are rewritten (one scan of the joined text decides when none does)."""
    joined = ",".join(lines)
    if "NaN" in joined or "Infinity" in joined:
        joined = ",".join([strict_line(s) for s in lines])
    return RawJSON(b"{" + json.dumps(key).encode() + b": [" + joined.encode() + b"]}")


def decode(value: Any) -> Any:
    """The wire strings back to floats, at any depth (dict keys are left as they are)."""
    if isinstance(value, str):
        return _FLOATS.get(value, value)
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value

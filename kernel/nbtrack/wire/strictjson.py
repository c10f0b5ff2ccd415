"""Strict JSON (RFC 8259) whatever was logged: NaN / ±inf as strings, both ways.

Python's ``json`` writes NaN and ±inf as the bare tokens ``NaN`` / ``Infinity`` /
``-Infinity``; the browser's ``JSON.parse`` rejects them, so one NaN in a run would make the
run pages unreadable. Every JSON answer (read API, the pages' API, GraphQL, file_stream)
goes through :func:`dumps`, which writes non-finite floats as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` — the encoding the widget already decodes
(``js/src/format.js`` ``toNumber``). Stored lines spliced unparsed into an answer go through
:func:`join_rows`, which rewrites only the lines that hold a bare token (outside string
literals), so a long clean history costs one substring scan. :func:`decode` turns the wire
strings back into floats for Python readers (``nbtrack.Api``).

The strings are not distinguishable from a logged string ``"NaN"``; readers that convert
numbers (the pages, the widget, :func:`decode`) take them as the number, by contract.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

NAN, INF, NEG_INF = "NaN", "Infinity", "-Infinity"


class RawJSON:
    """An already-encoded, strict JSON answer, sent as it is (a holder, not a ``bytes``
    subclass: that would copy a long history's body once more)."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


def number(value: float) -> float | str:
    """A float as the wire carries it: finite ones unchanged, NaN / ±inf as their strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return NAN
    return INF if value > 0 else NEG_INF


_FLOATS = {NAN: math.nan, INF: math.inf, NEG_INF: -math.inf}


def finite(value: Any) -> Any:
    """A copy of ``value`` with every non-finite float (at any depth) as its wire string."""
    if isinstance(value, float):
        return number(value)
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """``value`` with the wire strings of NaN / ±inf as floats, at any depth (dict keys as
    they are): the inverse of :func:`finite`."""
    if isinstance(value, str):
        return _FLOATS.get(value, value)
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def dumps(value: Any) -> bytes:
    """The answer body of ``value``: strict JSON, non-finite floats as strings.

    Values without NaN / inf (nearly all) are encoded once; only a refused encoding pays for
    the copy of :func:`finite`.
    """
    if isinstance(value, RawJSON):
        return value.body
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


def _quote_outside_strings(line: str) -> str:
    """The rewrite for a line without an escaped quote, in a few C-level string calls: split
    at the quotes, the even pieces are outside every string literal; quote the tokens there.
    (NUL joins them for one pass: valid JSON has no raw NUL outside strings.)"""
    pieces = line.split('"')
    outside = "\0".join(pieces[0::2])
    outside = outside.replace("NaN", '"NaN"').replace("Infinity", '"Infinity"')
    pieces[0::2] = outside.replace('-"Infinity"', '"-Infinity"').split("\0")
    return '"'.join(pieces)


def strict_line(line: str) -> str:
    """One stored JSON text with its bare NaN / Infinity / -Infinity tokens as strings."""
    if "NaN" not in line and "Infinity" not in line:
        return line
    if '\\"' in line:  # an escaped quote: split pieces would not be string literals
        return _LITERAL_OR_TOKEN.sub(_quote, line)
    return _quote_outside_strings(line)


def _may_hold_token(text: str) -> bool:
    """False when ``text`` holds neither "NaN" nor "Infinity"; a history without a capital
    N or I (most) costs two memchr scans instead of two substring searches."""
    return ("N" in text and "NaN" in text) or ("I" in text and "Infinity" in text)


def join_rows(lines: list[str], key: str = "rows") -> RawJSON:
    """``{"<key>": [<lines>]}`` from stored JSON lines, without parsing them; only the
    lines holding a token are rewritten."""
    joined = ",".join(lines)
    if _may_hold_token(joined):  # then line by line: a substring test each, few rewrites
        joined = ",".join([strict_line(s) for s in lines])
    return RawJSON(b"".join((b"{", json.dumps(key).encode(), b": [", joined.encode(), b"]}")))

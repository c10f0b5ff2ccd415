"""How much a JSON text would cost to parse, measured before parsing it.

``{}`` is 3 bytes of text and a 64-byte dict once parsed, so 31 MB of empty objects cost a
parser 800 MB; and a text nested 100k deep raises ``RecursionError``. :func:`check`
measures the values and the nesting at C speed (``bytes.replace`` / ``translate`` /
``count`` and one regex over what is left) and raises :class:`ShapeError` naming the bound
passed. Used for request bodies and for the JSON a body carries inside strings (history
lines, a config given as a JSON string), which the byte limit alone does not bound.
"""

from __future__ import annotations

import re

__all__ = ["MAX_DEPTH", "MAX_VALUES", "ShapeError", "check"]

MAX_DEPTH = 64  # objects and arrays inside each other
MAX_VALUES = 1_000_000  # values outside strings (about 100 MB parsed at the very worst)

_KEEP = b'"[]{},'  # string delimiters and structure: everything else is dropped first
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_STRING = re.compile(rb'"[^"]*"')  # a string once its escapes are gone


class ShapeError(ValueError):
    """The text holds too many values, nests too deep, or its brackets do not match."""


def check(text: bytes | str, max_depth: int = MAX_DEPTH, max_values: int = MAX_VALUES) -> None:
    """Raise :class:`ShapeError` when parsing ``text`` would pass a bound."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    opens = raw.count(b"{") + raw.count(b"[")
    if opens <= max_depth and raw.count(b",") < max_values:
        return  # cannot nest too deep nor hold too many values: most texts stop here
    # Backslashes appear only inside strings: drop escaped backslashes, then escaped
    # quotes; the quotes left delimit strings, and what lies between them goes.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in raw else raw
    structure = _STRING.sub(b"", unescaped.translate(None, _DROP))
    empties = structure.count(b"{}") + structure.count(b"[]")
    values = 1 + structure.count(b",") + structure.count(b"{") + structure.count(b"[") - empties
    if values > max_values:
        raise ShapeError(f"holds {values} values, the limit is {max_values}")
    brackets = structure.translate(None, b",")
    for _ in range(max_depth):  # each pass removes the innermost level
        if not brackets:
            return
        brackets = brackets.replace(b"{}", b"").replace(b"[]", b"")
    if not brackets:
        return
    if brackets.count(b"{") != brackets.count(b"}") or brackets.count(b"[") != brackets.count(
        b"]"
    ):
        raise ShapeError("is not valid JSON")
    raise ShapeError(f"nests deeper than {max_depth} levels")

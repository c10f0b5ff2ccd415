"""JSON request bodies parsed with bounded memory and bounded nesting.

The byte limit (``--max-body-bytes``) is not enough on its own: a 31 MB body of empty
objects cost the server 800 MB, and a body nested 100k deep raised ``RecursionError`` out
of the parser, which dropped the connection with no answer. :func:`loads` measures the
body first (:mod:`nbtrack.wire.jsonshape`) and refuses it with a :class:`BodyRefused` that
says which bound it passed (answered 400).
"""

from __future__ import annotations

import json
from typing import Any

from nbtrack.wire.jsonshape import MAX_DEPTH, MAX_VALUES, ShapeError, check

__all__ = ["MAX_DEPTH", "MAX_VALUES", "BodyRefused", "loads"]


class BodyRefused(ValueError):
    """The body is not JSON the server will parse (answered 400 with this message)."""


def loads(raw: bytes) -> Any:
    """The parsed body (None when empty), or :class:`BodyRefused` naming the reason."""
    if not raw:
        return None
    try:
        check(raw)
    except ShapeError as e:
        if str(e) == "is not valid JSON":
            raise BodyRefused("the body is not valid JSON") from None
        raise BodyRefused(f"the JSON body {e}") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BodyRefused("the body is not valid JSON") from None

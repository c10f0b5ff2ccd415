"""Reading answers the way a browser does: strict JSON (RFC 8259), then the wire strings of
non-finite numbers back to floats. Independent of nbtrack's own code, so tests check it."""

from __future__ import annotations

import json
import math
from typing import Any

WIRE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def strict_loads(body: bytes | str) -> Any:
    """``json.loads`` that refuses ``NaN`` / ``Infinity`` / ``-Infinity``, as ``JSON.parse``."""

    def refuse(token: str) -> Any:
        raise ValueError(f"not strict JSON: bare {token}")

    return json.loads(body, parse_constant=refuse)


def decode(value: Any) -> Any:
    """The strings "NaN" / "Infinity" / "-Infinity" (at any depth) as floats."""
    if isinstance(value, str):
        return WIRE.get(value, value)
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN, through nested dicts and lists; 1 == 1.0, True != 1."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool | str) or isinstance(b, bool | str):
        return type(a) is type(b) and a == b
    return bool(a == b)

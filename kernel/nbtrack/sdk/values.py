"""What may be logged, checked in the user's thread so errors name the key at once.

Rule: ``log()`` is atomic. Either every key of the call is accepted, or a
TypeError / ValueError names the first bad key and nothing of that call is
logged; what was logged before is untouched and the run goes on.

Nested dicts are flattened with ``/`` (``{"val": {"loss": 1}}`` → ``val/loss``).
NumPy scalars become Python numbers, 0-d arrays their item, small 1-d numeric
arrays and lists become JSON lists. NaN and ±inf are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_KEY_LENGTH = 256
MAX_DEPTH = 8
MAX_LIST_LENGTH = 10_000
SUMMARY_AGGREGATES = ("min", "max", "mean", "first", "last", "best", "none")
SCALAR_TYPES = frozenset({float, int, bool, str, type(None)})


def check_key(key: object, path: str = "") -> str:
    if not isinstance(key, str):
        raise TypeError(f"key {path}{key!r}: keys must be strings, not {type(key).__name__}")
    full = f"{path}{key}"
    if not key:
        raise ValueError(f"key {full!r}: keys must not be empty")
    if key.startswith("_"):
        raise ValueError(f"key {full!r}: keys starting with '_' are reserved for nbtrack")
    if len(full) > MAX_KEY_LENGTH:
        raise ValueError(f"key {full[:40]!r}...: longer than {MAX_KEY_LENGTH} characters")
    if "\x00" in key:
        raise ValueError(f"key {full!r}: keys must not contain NUL characters")
    return full


def _numpy_item(key: str, value: Any) -> Any:
    """A NumPy scalar or small array as plain Python, or raise naming the key."""
    item = getattr(value, "item", None)
    shape = getattr(value, "shape", None)
    if shape == () and item is not None:
        plain = item()
        if hasattr(plain, "dtype"):  # np.longdouble / np.clongdouble: item() is itself
            if getattr(value.dtype, "kind", "") != "f":
                raise TypeError(f"key {key!r}: cannot log a value of type {type(value).__name__}")
            plain = float(plain)
        return normalize_value(key, plain)
    tolist = getattr(value, "tolist", None)
    if shape is not None and tolist is not None:
        if getattr(value, "size", 0) > MAX_LIST_LENGTH:
            raise ValueError(f"key {key!r}: array of {value.size} values is too large to log "
                             f"(at most {MAX_LIST_LENGTH})")
        return normalize_value(key, tolist())
    raise TypeError(f"key {key!r}: cannot log a value of type {type(value).__name__}")


def normalize_value(key: str, value: Any) -> Any:
    """``value`` as a JSON-able Python value, or TypeError/ValueError naming ``key``."""
    kind = type(value)
    if kind in SCALAR_TYPES:
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_LIST_LENGTH:
            raise ValueError(f"key {key!r}: list of {len(value)} values is too large to log "
                             f"(at most {MAX_LIST_LENGTH})")
        return [normalize_value(key, v) for v in value]
    if hasattr(value, "dtype"):
        return _numpy_item(key, value)
    raise TypeError(f"key {key!r}: cannot log a value of type {type(value).__name__}")


def _flatten_into(out: dict[str, Any], data: Mapping[Any, Any], path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"key {path!r}: nested deeper than {MAX_DEPTH} levels")
    for key, value in data.items():
        full = check_key(key, path)
        if isinstance(value, Mapping):
            _flatten_into(out, value, full + "/", depth + 1)
        else:
            out[full] = normalize_value(full, value)


def normalize(data: Mapping[Any, Any]) -> dict[str, Any]:
    """A flat, validated copy of ``data`` (the slow path, for anything not plain)."""
    if not isinstance(data, Mapping):
        raise TypeError(f"log() takes a dict of values, not {type(data).__name__}")
    out: dict[str, Any] = {}
    _flatten_into(out, data, "", 1)
    return out


def is_plain(data: dict[Any, Any], known: set[str]) -> bool:
    """True when every key was seen before and every value is a plain scalar (the hot path)."""
    for key, value in data.items():
        if key not in known or type(value) not in SCALAR_TYPES:
            return False
    return True


def remember_keys(data: dict[str, Any], known: set[str]) -> None:
    if len(known) < 100_000:
        known.update(data)


def config_value(key: str, value: Any) -> Any:
    """A config value as JSON-able Python: like log values, but nested dicts stay nested."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"config key {key}.{k!r}: keys must be strings")
            out[k] = config_value(f"{key}.{k}", v)
        return out
    return normalize_value(key, value)


def check_metric(name: object, summary: str | list[str] | tuple[str, ...] | None,
                 goal: str | None) -> list[str]:
    """``define_metric``'s arguments checked: the aggregates asked for, or ValueError."""
    if not isinstance(name, str) or not name:
        raise ValueError("define_metric: name must be a non-empty string")
    parts = summary.split(",") if isinstance(summary, str) else list(summary or ())
    aggs = [str(a).strip() for a in parts if str(a).strip()]
    for agg in aggs:
        if agg not in SUMMARY_AGGREGATES:
            raise ValueError(f"define_metric({name!r}): unknown summary {agg!r}; "
                             f"expected some of {', '.join(SUMMARY_AGGREGATES)}")
    if goal not in (None, "minimize", "maximize"):
        raise ValueError(f"define_metric({name!r}): goal must be 'minimize' or 'maximize'")
    if "best" in aggs and goal is None:
        raise ValueError(f"define_metric({name!r}): summary 'best' needs goal=")
    return aggs


def check_step(step: Any) -> int:
    """An explicit ``log(step=...)`` as an int >= 0, or TypeError / ValueError."""
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise TypeError(f"step must be an integer, not {type(step).__name__}")
    value = int(step.__index__())
    if value < 0:
        raise ValueError(f"step must be >= 0, not {value}")
    return value

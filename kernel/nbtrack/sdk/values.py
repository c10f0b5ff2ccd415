"""What may be logged, checked in the user's thread so errors name the key at once.

Rule: ``log()`` is atomic. Either every key of the call is accepted, or a
TypeError / ValueError names the first bad key and nothing of that call is
logged; what was logged before is untouched and the run goes on.

Nested dicts are flattened with ``/`` (``{"val": {"loss": 1}}`` → ``val/loss``).
NumPy scalars become Python numbers, 0-d arrays their item, small 1-d numeric
arrays and lists become JSON lists. NaN and ±inf are kept.

Sizes and ranges (:mod:`nbtrack.wire.limits`, ``docs/contracts.md`` "Values"): a string
value at most ``MAX_STRING_CHARS``, an integer within int64, a step at most
``MAX_STEP``; the row and the summary are bounded in :mod:`nbtrack.sdk.bounds`.
A flat key given twice (``{"a/b": 1, "a": {"b": 2}}``) and a list or dict that contains
itself are refused naming the key, never left for the handler to drop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nbtrack.sdk.media.prepare import is_media
from nbtrack.wire.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_CONFIG_BYTES,
    MAX_ROW_BYTES,
    MAX_STEP,
    MAX_STRING_CHARS,
    MAX_SUMMARY_BYTES,
)

__all__ = ["MAX_CONFIG_BYTES", "MAX_ROW_BYTES", "MAX_STEP", "MAX_STRING_CHARS",
           "MAX_SUMMARY_BYTES", "check_key", "check_step", "config_value", "is_plain",
           "normalize", "normalize_value"]

MAX_KEY_LENGTH = 256
MAX_DEPTH = 8
MAX_LIST_LENGTH = 10_000
SUMMARY_AGGREGATES = ("min", "max", "mean", "first", "last", "best", "none")
SCALAR_TYPES = frozenset({float, int, bool, str, type(None)})
# values that cannot be big: the hot path checks nothing more about them
SMALL_TYPES = frozenset({float, bool, type(None)})
# a str this short takes the hot path (at most 16 x 12 + 2 bytes encoded: see bounds.py)
PLAIN_STR_CHARS = 16


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


def _numpy_item(key: str, value: Any, depth: int) -> Any:
    """A NumPy scalar or small array as plain Python, or raise naming the key."""
    item = getattr(value, "item", None)
    shape = getattr(value, "shape", None)
    if shape == () and item is not None:
        plain = item()
        if hasattr(plain, "dtype"):  # np.longdouble / np.clongdouble: item() is itself
            if getattr(value.dtype, "kind", "") != "f":
                raise TypeError(f"key {key!r}: cannot log a value of type {type(value).__name__}")
            plain = float(plain)
        return normalize_value(key, plain, depth)
    tolist = getattr(value, "tolist", None)
    if shape is not None and tolist is not None:
        if getattr(value, "size", 0) > MAX_LIST_LENGTH:
            raise ValueError(f"key {key!r}: array of {value.size} values is too large to log "
                             f"(at most {MAX_LIST_LENGTH})")
        return normalize_value(key, tolist(), depth)
    raise TypeError(f"key {key!r}: cannot log a value of type {type(value).__name__}")


def _int(key: str, value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"key {key!r}: the integer is outside int64 (what the server stores "
                         "and readers carry); log float(value) to store it as a float")
    return value


def _str(key: str, value: str) -> str:
    if len(value) > MAX_STRING_CHARS:
        raise ValueError(f"key {key!r}: a string of {len(value):,} characters is too long to "
                         f"log (at most {MAX_STRING_CHARS:,}); save it as a file (run.save)")
    return value


def normalize_value(key: str, value: Any, depth: int = 1) -> Any:
    """``value`` as a JSON-able Python value, or TypeError/ValueError naming ``key``."""
    kind = type(value)
    if kind in SMALL_TYPES:
        return value
    if kind is int:
        return _int(key, value)
    if kind is str:
        return _str(key, value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _int(key, int(value))
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return _str(key, str(value))
    if isinstance(value, (list, tuple)):
        if depth == 1 and value and is_media(value):
            return value  # a gallery: prepared with the row's other media (sdk/media)
        if depth > MAX_DEPTH:
            raise ValueError(f"key {key!r}: lists nested deeper than {MAX_DEPTH} levels "
                             "(or a list that contains itself)")
        if len(value) > MAX_LIST_LENGTH:
            raise ValueError(f"key {key!r}: list of {len(value)} values is too large to log "
                             f"(at most {MAX_LIST_LENGTH})")
        return [normalize_value(key, v, depth + 1) for v in value]
    if hasattr(value, "dtype"):
        return _numpy_item(key, value, depth)
    if depth == 1 and is_media(value):
        return value  # checked and copied by sdk/media/prepare.py, after the whole row
    raise TypeError(f"key {key!r}: cannot log a value of type {type(value).__name__}")


def _flatten_into(out: dict[str, Any], data: Mapping[Any, Any], path: str, depth: int,
                  inside: tuple[int, ...] = ()) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"key {path!r}: nested deeper than {MAX_DEPTH} levels")
    inside = (*inside, id(data))  # the dicts this one is in: a cycle is named as one
    for key, value in data.items():
        full = check_key(key, path)
        if isinstance(value, Mapping):
            if id(value) in inside:
                raise ValueError(f"key {full!r}: the dict contains itself (a cycle), "
                                 "which cannot be logged")
            _flatten_into(out, value, full + "/", depth + 1, inside)
            continue
        if full in out:
            raise ValueError(f"key {full!r}: given twice, as a flat key and nested "
                             f"({full.replace('/', ' / ')}); one would silently win")
        out[full] = normalize_value(full, value)


def normalize(data: Mapping[Any, Any]) -> dict[str, Any]:
    """A flat, validated copy of ``data`` (the slow path, for anything not plain)."""
    if not isinstance(data, Mapping):
        raise TypeError(f"log() takes a dict of values, not {type(data).__name__}")
    out: dict[str, Any] = {}
    _flatten_into(out, data, "", 1)
    return out


def is_plain(data: dict[Any, Any], known: set[str]) -> bool:
    """True when every key was seen before and every value is a plain scalar (the hot path).

    Plain: a float, bool or None (nothing to check: they cannot be big), an int within
    int64, a str of at most ``PLAIN_STR_CHARS``. Anything else takes :func:`normalize`.
    """
    if known.issuperset(data) and SMALL_TYPES.issuperset(map(type, data.values())):
        return True  # two C-level passes: the common row of known keys and floats
    for key, value in data.items():
        if key not in known or type(value) not in SMALL_TYPES:
            if key not in known:
                return False
            kind = type(value)
            if kind is int:
                if not INT64_MIN <= value <= INT64_MAX:
                    return False
            elif kind is not str or len(value) > PLAIN_STR_CHARS:
                return False
    return True


def config_value(key: str, value: Any, depth: int = 1, inside: tuple[int, ...] = ()) -> Any:
    """A config value as JSON-able Python: like log values, but nested dicts stay nested."""
    if isinstance(value, Mapping):
        if id(value) in inside:
            raise ValueError(f"config key {key!r}: the dict contains itself (a cycle), "
                             "which cannot be stored")
        if depth > MAX_DEPTH:
            raise ValueError(f"config key {key!r}: nested deeper than {MAX_DEPTH} levels")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"config key {key}.{k!r}: keys must be strings")
            out[k] = config_value(f"{key}.{k}", v, depth + 1, (*inside, id(value)))
        return out
    if is_media(value):
        raise TypeError(f"config key {key!r}: media values (Image, Table, ...) are logged "
                        "with run.log, not stored in the config")
    return normalize_value(key, value, depth)


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
    if value > MAX_STEP:
        raise ValueError(f"step {value} is larger than the largest step, {MAX_STEP} (2**53 - 1: "
                         "what every reader, the run pages too, carries exactly)")
    return value

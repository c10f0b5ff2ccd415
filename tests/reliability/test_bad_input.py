"""Property tests for what ``log()`` and ``config`` accept, through the real server.

Every generated call is either stored and read back equal (through the server and
``nbtrack.Api``), or refused with a TypeError/ValueError whose message names the key;
after a refusal the run goes on (the next row is stored).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nbtrack

from helpers.reliability import pick, record_figure

EXAMPLES = pick(150, 2000)

DTYPES = [np.dtype(t) for t in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128", "U5", "S5",
    "datetime64[s]", "timedelta64[s]", "object")]


class Unserializable:
    def __repr__(self) -> str:
        return "<Unserializable>"


def _np_scalar(dtype: np.dtype) -> st.SearchStrategy[Any]:
    if dtype.kind == "O":
        return st.just(np.array([object()], dtype=object)[0:1].reshape(()))
    return hnp.from_dtype(dtype).map(lambda v: np.asarray(v, dtype=dtype)[()])


keys = st.one_of(
    st.text(min_size=0, max_size=12),
    st.text(alphabet=st.characters(codec=None), min_size=1, max_size=8),  # surrogates too
    st.text(min_size=250, max_size=400),
    st.sampled_from(["loss", "val/acc", "a,b", "é ü 中文 🚀", "_hidden", "x\x00y", " ", "..",
                     "../etc", "%2F"]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50), st.text(alphabet=st.characters(codec=None), max_size=5),
)
numpy_values = st.sampled_from(DTYPES).flatmap(lambda d: st.one_of(
    _np_scalar(d),
    hnp.arrays(d, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
))
odd = st.one_of(
    st.builds(Unserializable), st.just({1, 2}), st.complex_numbers(), st.binary(max_size=4),
    st.just(lambda: 1), st.integers(0, 12_000).map(lambda n: [0.5] * n),
    st.lists(scalars, max_size=5), st.lists(st.lists(st.floats(), max_size=3), max_size=3),
)
leaf = st.one_of(scalars, numpy_values, odd)
values = st.recursive(leaf, lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=12)


def expected(value: Any) -> Any:
    """An independent model of a stored value (not nbtrack's normalizer)."""
    if isinstance(value, np.generic):
        plain = value.item()
        if isinstance(plain, np.generic):  # np.longdouble.item() is itself
            return float(plain)
        return expected(plain)
    if isinstance(value, np.ndarray):
        return expected(value.tolist())
    if isinstance(value, list | tuple):
        return [expected(v) for v in value]
    return value


def flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Mapping):
            out.update(flat(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = expected(v)
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and b in ("NaN", "Infinity", "-Infinity"):
        # documented (docs/pages.md): the wire's strings for non-finite numbers, so a logged
        # *string* "NaN" reads back as the number
        return same(a, float(b.replace("Infinity", "inf")))
    if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return (type(a) is type(b) and a == b) or (isinstance(a, int | float) and a == b
                                            and not isinstance(a, bool)
                                            and not isinstance(b, bool))


def names_a_key(message: str, data: Mapping[Any, Any]) -> bool:
    """The message shows a key of ``data`` (its text or its repr, as ``{key!r}`` writes it,
    long ones cut). Compared escaped as it is: unescaping the message by hand broke on a key
    that ends in a backslash."""
    for k in data:
        if str(k)[:30] in message or repr(str(k))[1:-1][:25] in message:
            return True
        # a long key is shown cut to 40 characters, and repr of the cut text (or of a longer
        # path that starts with the key) may quote, and so escape, differently from repr of
        # the key alone
        if repr(str(k)[:40])[1:-1][:25] in message:
            return True
        if str(k).replace("\\", "\\\\").replace("'", "\\'")[:25] in message:
            return True
        if str(k) == "" and "''" in message:
            return True
    return False


@pytest.fixture
def online_run(nbtrack_dir: Path, live_server: Any) -> Any:
    run = nbtrack.init(project="badinput", mode="online", base_url=live_server.url,
                       api_key=live_server.token)
    yield run
    if run.state == "running":
        run.finish(quiet=True)


def test_log_values_are_stored_equal_or_refused_by_key(online_run: Any, live_server: Any) -> None:
    run = online_run
    accepted: list[tuple[int, dict[str, Any]]] = []
    refused: list[str] = []
    step = {"n": 0}

    # the short (CI) version draws the same examples every run; the long one new ones
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=pick(True, False),
              suppress_health_check=list(HealthCheck))
    @given(st.dictionaries(keys, values, min_size=1, max_size=3))
    def one_call(data: dict[str, Any]) -> None:
        try:
            run.log(data)
        except (TypeError, ValueError) as exc:
            assert names_a_key(str(exc), data), (str(exc), list(data))
            refused.append(type(exc).__name__)
        else:
            accepted.append((step["n"], flat(data)))
            step["n"] += 1
        run.log({"alive": step["n"]})  # the run goes on after a refusal
        step["n"] += 1

    one_call()
    run.finish(timeout=60, quiet=True)
    assert run.state == "finished"
    stored = nbtrack.Api(live_server.url, live_server.token).run(run.path).history()
    by_step = {r["_step"]: r for r in stored}
    assert len(stored) == step["n"], "a row went missing or was stored twice"
    for s, row in accepted:
        got = by_step[s]
        for k, v in row.items():
            assert k in got, (k, got)
            assert same(got[k], v), (k, got[k], v)
    record_figure("bad_input_log", examples=len(accepted) + len(refused),
                  accepted=len(accepted), refused=len(refused), rows_stored=len(stored))


def test_config_values_are_stored_equal_or_refused_by_key(online_run: Any,
                                                          live_server: Any) -> None:
    run = online_run
    kept: dict[str, Any] = {}
    refused = {"n": 0}

    @settings(max_examples=pick(100, 1000), deadline=None, database=None,
              derandomize=pick(True, False), suppress_health_check=list(HealthCheck))
    @given(st.text(min_size=1, max_size=30).filter(lambda k: "." not in k), values)
    def one_update(key: str, value: Any) -> None:
        try:
            run.config[key] = value
        except (TypeError, ValueError) as exc:
            assert names_a_key(str(exc), {key: value}), (str(exc), key)
            refused["n"] += 1
        else:
            kept[key] = value
        run.log({"alive": 1})

    one_update()
    run.finish(timeout=60, quiet=True)
    config = nbtrack.Api(live_server.url, live_server.token).run(run.path).config
    for key, value in kept.items():
        assert key in config, key
        assert same_nested(config[key], value), (key, config[key], value)
    record_figure("bad_input_config", accepted=len(kept), refused=refused["n"])


def same_nested(got: Any, value: Any) -> bool:
    if isinstance(value, Mapping):
        return isinstance(got, dict) and set(got) == {str(k) for k in value} and all(
            same_nested(got[str(k)], v) for k, v in value.items())
    return same(got, expected(value))

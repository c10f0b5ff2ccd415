"""The JSON body's shape measured before parsing: strings (with escapes) never count,
structure does; every body within the bounds parses exactly as ``json.loads`` would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbtrack.server.http.bodylimits import MAX_DEPTH, MAX_VALUES, BodyRefused, loads

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{},"\\ab\n\u00e9'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(value=_json, pad=st.integers(0, MAX_DEPTH))
def test_bodies_within_the_bounds_parse_as_json_loads_does(value: Any, pad: int) -> None:
    # padded into enough lists that the fast path is skipped and the scan really runs
    body = json.dumps([[value]] + [[]] * pad + ["[" * 70 + '\\"' + "{" * 70])
    assert loads(body.encode()) == json.loads(body)


@pytest.mark.parametrize(("body", "message"), [
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
     f"the JSON body nests deeper than {MAX_DEPTH} levels"),
    (b"[" + b"0," * MAX_VALUES + b"0]",
     f"the JSON body holds {MAX_VALUES + 2} values, the limit is {MAX_VALUES}"),
    (b'{"a": [1, 2', "the body is not valid JSON"),
    (b"[" * 70 + b"]" * 69, "the body is not valid JSON"),
    (b"\xff", "the body is not valid JSON"),
])
def test_refusals_name_the_reason(body: bytes, message: str) -> None:
    with pytest.raises(BodyRefused) as e:
        loads(body)
    assert str(e.value) == message


def test_exactly_at_the_bounds_is_accepted() -> None:
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    assert len(loads(b"[" + b"0," * (MAX_VALUES - 2) + b"0]")) == MAX_VALUES - 1
    assert loads(b"") is None

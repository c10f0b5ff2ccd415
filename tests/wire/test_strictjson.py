"""The one encoding of NaN / ±inf (nbtrack.wire.strictjson): strict JSON out, the same
values back in.

The rewrite of stored lines must quote only the bare tokens, never text inside a string
(keys and values that hold "NaN", escaped quotes, backslashes before a quote), and must
give the same answer as parsing the line and encoding it again.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from nbtrack.wire import strictjson
from nbtrack.wire.strictjson import decode

from helpers.strictjson import strict_loads

NAN, INF = math.nan, math.inf


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_dumps_writes_nonfinite_floats_as_the_widgets_strings() -> None:
    body = strictjson.dumps({"a": NAN, "b": [INF, -INF, 1.5], "c": {"d": -INF}, "e": "NaN x"})
    assert strict_loads(body) == {"a": "NaN", "b": ["Infinity", "-Infinity", 1.5],
                                  "c": {"d": "-Infinity"}, "e": "NaN x"}
    assert strictjson.dumps({"a": 1.0, "b": None}) == json.dumps({"a": 1.0, "b": None}).encode()
    assert strictjson.dumps(strictjson.RawJSON(b'{"x": 1}')) == b'{"x": 1}'


def test_strict_line_leaves_strings_and_keys_alone() -> None:
    line = json.dumps({"NaN": NAN, 'say "NaN", Infinity': -INF, "t": 'x\\": NaN, -Infinity',
                       "back\\": INF, "v": [NAN, 1, INF], "u": "\u00e9NaN"})
    out = strictjson.strict_line(line)
    assert strict_loads(out) == {"NaN": "NaN", 'say "NaN", Infinity': "-Infinity",
                                 "t": 'x\\": NaN, -Infinity', "back\\": "Infinity",
                                 "v": ["NaN", 1, "Infinity"], "u": "\u00e9NaN"}
    plain = json.dumps({"NaN": -INF, "a": [NAN, -INF, INF], "t": "x, -Infinity, NaN]"})
    assert strict_loads(strictjson.strict_line(plain)) == {
        "NaN": "-Infinity", "a": ["NaN", "-Infinity", "Infinity"], "t": "x, -Infinity, NaN]"}
    clean = json.dumps({"a": 1.0, "b": "no tokens here"})
    assert strictjson.strict_line(clean) is clean


def test_join_rows_is_one_strict_answer() -> None:
    lines = [json.dumps({"_step": 0, "x": NAN}), json.dumps({"_step": 1, "x": 2.0}),
             json.dumps({"_step": 2, "x": "Infinity and beyond"})]
    rows = strict_loads(strictjson.dumps(strictjson.join_rows(lines)))["rows"]
    assert rows == [{"_step": 0, "x": "NaN"}, {"_step": 1, "x": 2.0},
                    {"_step": 2, "x": "Infinity and beyond"}]
    one = strictjson.dumps(strictjson.join_rows(lines[1:2]))
    assert one == b'{"rows": [' + lines[1].encode() + b"]}"
    assert strict_loads(strictjson.dumps(strictjson.join_rows([]))) == {"rows": []}


def test_the_api_decodes_the_floats_back() -> None:
    got = decode({"a": "NaN", "b": ["Infinity", "-Infinity", "x"], "NaN": 1})
    assert same(got, {"a": NAN, "b": [INF, -INF, "x"], "NaN": 1})


# text that looks like the tokens, quotes and backslashes: the rewrite's hard cases
_tricky = st.text(alphabet=st.sampled_from(['N', 'a', 'I', 'n', 'f', 'i', 't', 'y', '-', '"',
                                            '\\', ' ', ',', ':', '\u00e9', '\n']), max_size=12)
_unquoted = st.text(alphabet=st.sampled_from(list("NaIfinty- ,:[]{}\u00e9")), max_size=12)
_texts = st.one_of(_tricky, _unquoted, st.text(max_size=8),
                   st.sampled_from(["NaN", "Infinity", "-Infinity", 'a": NaN, "b', "x: -Infinity"]))
_scalars = st.one_of(st.sampled_from([NAN, INF, -INF]), st.floats(), st.integers(),
                     st.booleans(), st.none(), _texts)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_texts, inner, max_size=4)), max_leaves=16)
_rows = st.dictionaries(_texts, _values, max_size=6)


@given(_rows, st.booleans())
def test_rewriting_a_line_equals_parsing_and_encoding_it(row: dict[str, Any],
                                                         ascii_only: bool) -> None:
    line = json.dumps(row, ensure_ascii=ascii_only)
    rewritten = strict_loads(strictjson.strict_line(line))
    assert same(rewritten, strict_loads(strictjson.dumps(json.loads(line))))
    assert same(decode(rewritten), decode(strictjson.finite(row)))


@given(_rows)
def test_both_rewrites_agree(row: dict[str, Any]) -> None:
    """The split-at-quotes rewrite (lines without an escaped quote) and the regex give the
    same text, on lines with and without escaped quotes."""
    line = json.dumps(row)
    assert strictjson.strict_line(line) == strictjson._LITERAL_OR_TOKEN.sub(strictjson._quote, line)


@given(st.lists(_rows, max_size=8))
def test_join_rows_equals_parsing_every_line(rows: list[dict[str, Any]]) -> None:
    lines = [json.dumps(r, separators=(",", ":")) for r in rows]
    got = strict_loads(strictjson.dumps(strictjson.join_rows(lines)))["rows"]
    assert same(got, [strict_loads(strictjson.dumps(json.loads(s))) for s in lines])

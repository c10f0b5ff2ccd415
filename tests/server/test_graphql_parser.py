"""The GraphQL parser and projection, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from nbtrack.server.wandb.graphql import EnumValue, GraphQLError, Variable, parse
from nbtrack.server.wandb.projection import collect_fields, project, resolve_value, with_args


def test_operation_with_typed_variables_defaults_and_args() -> None:
    doc = parse("""
      # a comment
      mutation Up($name: String!, $tags: [String!] = ["a"], $n: Int = 3) {
        upsertBucket(input: {name: $name, tags: $tags, n: $n, f: -1.5e2, on: true, no: null,
                             e: RUNNING, s: "q\\"\\u00e9", l: [1, [2]]}) { inserted }
      }
    """)
    op = doc.operation(None)
    assert (op.kind, op.name) == ("mutation", "Up")
    assert op.variable_defaults == {"tags": ["a"], "n": 3}
    (f,) = collect_fields(op.selections, doc, {})
    assert f.name == "upsertBucket"
    inp = f.args["input"]
    assert inp["name"] == Variable("name") and inp["e"] == EnumValue("RUNNING")
    resolved = resolve_value(inp, {"name": "r1", "tags": ["x"], "n": 3})
    assert resolved == {
        "name": "r1",
        "tags": ["x"],
        "n": 3,
        "f": -150.0,
        "on": True,
        "no": None,
        "e": "RUNNING",
        "s": 'q"é',
        "l": [1, [2]],
    }


def test_aliases_fragments_and_inline_fragments_project() -> None:
    doc = parse("""
      query Q { a: viewer { ...Who ... on User { email } ... { x: id } } }
      fragment Who on User { username entity }
    """)
    op = doc.operation("Q")
    (f,) = collect_fields(op.selections, doc, {})
    assert f.key == "a" and f.name == "viewer"
    value = {"username": "u", "entity": "e", "email": "m", "id": 7, "other": 1}
    assert project(value, f.selections, doc, {}) == {
        "username": "u",
        "entity": "e",
        "email": "m",
        "x": 7,
    }


def test_projection_of_lists_lazy_fields_args_and_missing() -> None:
    doc = parse(
        '{ m { b1: bucket(name: $n) { id } b2: bucket(name: "zz") { id } rows { k } nope } }'
    )
    calls: list[Any] = []

    def bucket(args: dict[str, Any]) -> dict[str, Any] | None:
        calls.append(args)
        return {"id": args["name"]} if args["name"] != "zz" else None

    value = {
        "m": {
            "bucket": with_args(bucket),
            "rows": lambda: [{"k": 1, "j": 2}, {"k": 3}],
            "unused": lambda: pytest.fail("an unselected lazy field was computed"),
        }
    }
    missing: list[str] = []
    (f,) = collect_fields(doc.operation(None).selections, doc, {})
    out = project(value[f.name], f.selections, doc, {"n": "r9"}, missing.append)
    assert out == {"b1": {"id": "r9"}, "b2": None, "rows": [{"k": 1}, {"k": 3}], "nope": None}
    assert missing == ["nope"] and len(calls) == 2


def test_skip_and_include_directives() -> None:
    doc = parse("query($yes: Boolean) { a @include(if: $yes) b @skip(if: true) c }")
    names = [f.name for f in collect_fields(doc.operations[0].selections, doc, {"yes": False})]
    assert names == ["c"]


def test_several_operations_need_a_name() -> None:
    doc = parse("query A { a } query B { b }")
    assert doc.operation("B").name == "B"
    with pytest.raises(GraphQLError):
        doc.operation(None)
    with pytest.raises(GraphQLError):
        doc.operation("C")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "{ a(b: ) }",
        "query { }",
        "{ a } }",
        "{ a(x: $) }",
        "fragment F on T { a }",
        "{ 'x' }",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(GraphQLError):
        parse(text)


def test_unknown_fragment_and_cycles_are_errors() -> None:
    doc = parse("{ ...Nope }")
    with pytest.raises(GraphQLError):
        collect_fields(doc.operations[0].selections, doc, {})
    doc = parse("{ ...A } fragment A on T { ...B } fragment B on T { ...A }")
    with pytest.raises(GraphQLError):
        collect_fields(doc.operations[0].selections, doc, {})


def test_block_strings() -> None:
    doc = parse('{ a(t: """x "quoted" y""") }')
    assert doc.operations[0].selections[0].args == {"t": 'x "quoted" y'}  # type: ignore[union-attr]

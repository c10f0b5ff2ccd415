"""A small GraphQL parser: the text of a request to a :class:`Document`.

Enough of the language for what W&B clients send: one or more operations, variables with
types and defaults, selection sets with aliases, arguments (literals, variables, objects,
lists), named and inline fragments and the @skip / @include directives. There is no schema:
:mod:`.projection` answers a parsed document from the resolvers' plain dicts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class GraphQLError(Exception):
    """A syntax error or an unusable request; reported in the response's ``errors``."""


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class EnumValue:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Selection] = field(default_factory=list)
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class FragmentSpread:
    name: str
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass
class InlineFragment:
    type_condition: str | None
    selections: list[Selection]
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


Selection = Field | FragmentSpread | InlineFragment


@dataclass
class Operation:
    kind: str  # query | mutation | subscription
    name: str | None
    variable_defaults: dict[str, Any]
    selections: list[Selection]


@dataclass
class Document:
    operations: list[Operation]
    fragments: dict[str, InlineFragment]

    def operation(self, name: str | None) -> Operation:
        """The operation to run: by name, or the only one."""
        if name:
            for op in self.operations:
                if op.name == name:
                    return op
            raise GraphQLError(f"unknown operation {name!r}")
        if len(self.operations) != 1:
            raise GraphQLError("operationName is required when the document has several operations")
        return self.operations[0]


_TOKEN = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n\r]*)
    |(?P<block>\"\"\"(?:\\\"\"\"|[^\"]|\"(?!\"\"))*\"\"\")
    |(?P<string>"(?:\\.|[^"\\\n])*")
    |(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<name>[_A-Za-z][_0-9A-Za-z]*)
    |(?P<punct>\.\.\.|[!$&()\[\]{}:=@|])
    """,
    re.VERBOSE,
)
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u":
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        else:
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
    return "".join(out)


def _tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise GraphQLError(f"syntax error at offset {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group()
        if kind == "skip":
            continue
        if kind == "string":
            tokens.append(("value", _unescape(value[1:-1])))
        elif kind == "block":
            tokens.append(("value", value[3:-3].replace('\\"""', '"""')))
        elif kind == "number":
            is_float = any(c in value for c in ".eE")
            tokens.append(("value", float(value) if is_float else int(value)))
        else:
            tokens.append((kind, value))
    tokens.append(("eof", ""))
    return tokens


MAX_NESTING = 64  # selection sets, lists and objects: deeper is refused, not a RecursionError


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise GraphQLError(f"the query is nested deeper than {MAX_NESTING} levels")

    def peek(self, kind: str, value: str | None = None) -> bool:
        k, v = self.tokens[self.i]
        return k == kind and (value is None or v == value)

    def take(self, kind: str, value: str | None = None) -> Any:
        k, v = self.tokens[self.i]
        if k != kind or (value is not None and v != value):
            raise GraphQLError(f"expected {value or kind}, found {v!r}")
        self.i += 1
        return v

    def skip(self, kind: str, value: str | None = None) -> bool:
        if self.peek(kind, value):
            self.i += 1
            return True
        return False

    def document(self) -> Document:
        ops: list[Operation] = []
        frags: dict[str, InlineFragment] = {}
        while not self.peek("eof"):
            if self.peek("punct", "{"):
                ops.append(Operation("query", None, {}, self.selection_set()))
            elif self.peek("name", "fragment"):
                self.i += 1
                name = self.take("name")
                self.take("name", "on")
                cond = self.take("name")
                directives = self.directives(const=True)
                frags[name] = InlineFragment(cond, self.selection_set(), directives)
            elif self.peek("name") and self.tokens[self.i][1] in (
                "query",
                "mutation",
                "subscription",
            ):
                ops.append(self.operation())
            else:
                raise GraphQLError(f"unexpected {self.tokens[self.i][1]!r}")
        if not ops:
            raise GraphQLError("the document has no operation")
        return Document(ops, frags)

    def operation(self) -> Operation:
        kind = self.take("name")
        name = self.take("name") if self.peek("name") else None
        defaults: dict[str, Any] = {}
        if self.skip("punct", "("):
            while not self.skip("punct", ")"):
                self.take("punct", "$")
                var = self.take("name")
                self.take("punct", ":")
                self.type_ref()
                if self.skip("punct", "="):
                    defaults[var] = self.value(const=True)
                self.directives(const=True)
        self.directives(const=True)
        return Operation(kind, name, defaults, self.selection_set())

    def type_ref(self) -> None:
        if self.skip("punct", "["):
            self._nest()
            self.type_ref()
            self.take("punct", "]")
            self.depth -= 1
        else:
            self.take("name")
        self.skip("punct", "!")

    def selection_set(self) -> list[Selection]:
        self.take("punct", "{")
        self._nest()
        out: list[Selection] = []
        while not self.skip("punct", "}"):
            out.append(self.selection())
        if not out:
            raise GraphQLError("empty selection set")
        self.depth -= 1
        return out

    def selection(self) -> Selection:
        if self.skip("punct", "..."):
            if self.peek("name") and not self.peek("name", "on"):
                name = self.take("name")
                return FragmentSpread(name, self.directives(const=False))
            cond = None
            if self.skip("name", "on"):
                cond = self.take("name")
            directives = self.directives(const=False)
            return InlineFragment(cond, self.selection_set(), directives)
        name = self.take("name")
        alias = None
        if self.skip("punct", ":"):
            alias, name = name, self.take("name")
        args = self.arguments(const=False)
        directives = self.directives(const=False)
        subs = self.selection_set() if self.peek("punct", "{") else []
        return Field(name, alias, args, subs, directives)

    def arguments(self, const: bool) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.skip("punct", "("):
            while not self.skip("punct", ")"):
                key = self.take("name")
                self.take("punct", ":")
                args[key] = self.value(const)
        return args

    def directives(self, const: bool) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        while self.skip("punct", "@"):
            out.append((self.take("name"), self.arguments(const)))
        return out

    def value(self, const: bool) -> Any:
        kind, v = self.tokens[self.i]
        if kind == "value":
            self.i += 1
            return v
        if kind == "punct" and v == "$" and not const:
            self.i += 1
            return Variable(self.take("name"))
        if kind == "punct" and v == "[":
            self.i += 1
            self._nest()
            items = []
            while not self.skip("punct", "]"):
                items.append(self.value(const))
            self.depth -= 1
            return items
        if kind == "punct" and v == "{":
            self.i += 1
            self._nest()
            obj: dict[str, Any] = {}
            while not self.skip("punct", "}"):
                key = self.take("name")
                self.take("punct", ":")
                obj[key] = self.value(const)
            self.depth -= 1
            return obj
        if kind == "name":
            self.i += 1
            return {"true": True, "false": False, "null": None}.get(v, EnumValue(v))
        raise GraphQLError(f"expected a value, found {v!r}")


def parse(text: str) -> Document:
    """Parse a GraphQL document; raises :class:`GraphQLError` on bad syntax."""
    if not isinstance(text, str) or not text.strip():
        raise GraphQLError("the query is empty")
    return _Parser(text).document()

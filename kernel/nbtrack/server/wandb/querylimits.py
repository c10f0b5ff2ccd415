"""What one GraphQL query may cost: depth, aliases and fields once fragments are expanded.

The parser bounds how deep the *text* nests, but fragments multiply: ten fragments that
each spread the previous one twice are 1 KB of text and 2**10 copies of the innermost
fields, and answering them costs the server exponential CPU. :func:`check` measures the
expanded query without expanding it (each fragment's size is computed once, memoized), so
a query of doubling fragments is refused in microseconds, with a message that says which
bound it passed. The bounds are far above what W&B clients send (their largest queries have
a few hundred fields, depth below 15 and no aliases beyond a handful).
"""

from __future__ import annotations

from dataclasses import dataclass

from nbtrack.server.wandb.graphql import (
    Document,
    Field,
    FragmentSpread,
    GraphQLError,
    Operation,
    Selection,
)

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_FIELDS", "QueryTooCostly", "check"]

MAX_DEPTH = 20  # fields inside fields, fragments expanded
MAX_FIELDS = 5_000  # fields in the expanded query
MAX_ALIASES = 200  # aliased fields in the expanded query


class QueryTooCostly(GraphQLError):
    """The query passes one of the bounds (answered as a GraphQL error)."""


@dataclass(frozen=True)
class _Cost:
    fields: int
    aliases: int
    depth: int


class _Meter:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.memo: dict[str, _Cost] = {}
        self.open: set[str] = set()  # fragments being measured: a spread of one is a cycle

    def selections(self, sels: list[Selection]) -> _Cost:
        fields = aliases = depth = 0
        for sel in sels:
            if isinstance(sel, Field):
                sub = self.selections(sel.selections)
                cost = _Cost(sub.fields + 1, sub.aliases + (sel.alias is not None),
                             sub.depth + 1)
            elif isinstance(sel, FragmentSpread):
                cost = self.fragment(sel.name)
            else:
                cost = self.selections(sel.selections)
            fields += cost.fields
            aliases += cost.aliases
            depth = max(depth, cost.depth)
            # refuse as soon as a bound is passed: the sums can grow without end
            _bounded(_Cost(fields, aliases, depth))
        return _Cost(fields, aliases, depth)

    def fragment(self, name: str) -> _Cost:
        if name in self.memo:
            return self.memo[name]
        frag = self.doc.fragments.get(name)
        if frag is None:
            raise GraphQLError(f"unknown fragment {name!r}")
        if name in self.open:
            raise GraphQLError(f"fragment {name!r} spreads itself (a cycle)")
        self.open.add(name)
        cost = self.selections(frag.selections)
        self.open.discard(name)
        self.memo[name] = cost
        return cost


def _bounded(cost: _Cost) -> None:
    if cost.depth > MAX_DEPTH:
        raise QueryTooCostly(
            f"query too deep: more than {MAX_DEPTH} levels of fields with fragments expanded")
    if cost.fields > MAX_FIELDS:
        raise QueryTooCostly(
            f"query too large: more than {MAX_FIELDS} fields with fragments expanded")
    if cost.aliases > MAX_ALIASES:
        raise QueryTooCostly(f"too many aliases: more than {MAX_ALIASES} with fragments expanded")


def check(doc: Document, op: Operation) -> None:
    """Raise :class:`QueryTooCostly` when ``op`` (fragments expanded) passes a bound."""
    meter = _Meter(doc)
    _bounded(meter.selections(op.selections))
    for name in doc.fragments:  # fragments the operation never spreads are checked too
        meter.fragment(name)

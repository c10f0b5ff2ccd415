"""Answering a parsed GraphQL document from plain dicts: variables, fragments, projection.

No schema: resolvers return plain dicts (W&B field names) and :func:`project` keeps only
what the query selected, under its aliases; costly fields are lazy callables, computed only
when selected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbtrack.server.wandb.graphql import (
    Document,
    EnumValue,
    Field,
    FragmentSpread,
    GraphQLError,
    Selection,
    Variable,
)


def resolve_value(value: Any, variables: dict[str, Any]) -> Any:
    """Substitute variables (missing ones become null) inside literals, lists and objects."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, list):
        return [resolve_value(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve_value(v, variables) for k, v in value.items()}
    return value


def _included(directives: list[tuple[str, dict[str, Any]]], variables: dict[str, Any]) -> bool:
    for name, args in directives:
        cond = bool(resolve_value(args.get("if"), variables))
        if (name == "skip" and cond) or (name == "include" and not cond):
            return False
    return True


def collect_fields(
    selections: list[Selection], doc: Document, variables: dict[str, Any], _depth: int = 0
) -> list[Field]:
    """Flatten fragments into the list of fields to answer, in query order."""
    if _depth > 32:
        raise GraphQLError("fragments nest too deeply (a cycle?)")
    out: list[Field] = []
    for sel in selections:
        if not _included(sel.directives, variables):
            continue
        if isinstance(sel, Field):
            out.append(sel)
        elif isinstance(sel, FragmentSpread):
            frag = doc.fragments.get(sel.name)
            if frag is None:
                raise GraphQLError(f"unknown fragment {sel.name!r}")
            out.extend(collect_fields(frag.selections, doc, variables, _depth + 1))
        else:
            out.extend(collect_fields(sel.selections, doc, variables, _depth + 1))
    return out


Resolved = Any  # a dict / list / scalar, or a zero-argument callable computing one lazily


def project(
    value: Resolved,
    selections: list[Selection],
    doc: Document,
    variables: dict[str, Any],
    on_missing: Callable[[str], None] | None = None,
) -> Any:
    """Keep only the selected fields of ``value`` (recursively), keyed by alias.

    Dict values may be callables: they are called only when selected, so costly fields
    (e.g. ``historyTail``) are computed only for queries that ask for them. A callable
    taking one argument receives the field's resolved arguments.
    """
    if callable(value):
        value = value()
    if value is None or not selections:
        return value
    if isinstance(value, list):
        return [project(v, selections, doc, variables, on_missing) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for f in collect_fields(selections, doc, variables):
        if f.name not in value:
            if f.name != "__typename" and on_missing is not None:
                on_missing(f.name)
            out[f.key] = value.get("__typename") if f.name == "__typename" else None
            continue
        sub = value[f.name]
        if callable(sub) and getattr(sub, "takes_args", False):
            sub = sub({k: resolve_value(v, variables) for k, v in f.args.items()})
        out[f.key] = project(sub, f.selections, doc, variables, on_missing)
    return out


def with_args(fn: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """Mark a lazy field resolver as wanting the field's arguments (``bucket(name: ...)``)."""
    fn.takes_args = True  # type: ignore[attr-defined]
    return fn

"""Dispatch tables built from the proto's oneofs, so no record kind can go unrouted.

Why: a stage's table written by hand drifts from the proto; a kind added to
``nbtrack.proto`` without a route used to be logged and dropped at run time. A table
built with :func:`routes` must name every field of the oneof (and nothing else), or
building it raises ``TypeError``: the stage's module fails at import, in every test.

At run time the only items a complete table cannot route are malformed ones: a record
or request with no kind set, a defer state outside the enum, an object that is not a
record, a kind that only the stage itself produces. Each raises :class:`UnknownRecord`,
a programming error in whoever published it. A stage's ``handle(item)`` lets it
propagate (tests and ``nbtrack sync`` see it); the stage's thread logs it at ERROR and
counts it, and never answers such a request, so its waiter sees "no answer in time"
rather than an empty answer it could take for a real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from nbtrack.proto import nbtrack_pb2 as pb

__all__ = [
    "RECORD_KINDS",
    "REQUEST_KINDS",
    "UnknownRecord",
    "describe",
    "enum_routes",
    "kinds",
    "routes",
]

R = TypeVar("R")


class _Described(Protocol):
    DESCRIPTOR: Any


class UnknownRecord(Exception):
    """An item no route exists for: a programming error of its publisher, never data."""


def kinds(message: type[_Described], oneof: str) -> tuple[str, ...]:
    """The field names of ``message``'s oneof ``oneof``, in proto order."""
    return tuple(f.name for f in message.DESCRIPTOR.oneofs_by_name[oneof].fields)


RECORD_KINDS = kinds(pb.Record, "record_type")
REQUEST_KINDS = kinds(pb.Request, "request_type")


def _check(what: str, expected: tuple[Any, ...], table: Mapping[Any, Any]) -> None:
    missing = [k for k in expected if k not in table]
    extra = [k for k in table if k not in expected]
    if missing or extra:
        raise TypeError(f"routes for {what}: no route for {missing or 'none'}; "
                        f"not in the proto: {extra or 'none'}")


def routes(message: type[_Described], oneof: str, table: Mapping[str, R]) -> Mapping[str, R]:
    """A read-only copy of ``table`` after checking it routes exactly the kinds of
    ``message.<oneof>``; ``TypeError`` names what is missing or extra."""
    _check(f"{message.DESCRIPTOR.name}.{oneof}", kinds(message, oneof), table)
    return MappingProxyType(dict(table))


def enum_routes(enum: Any, table: Mapping[int, R]) -> Mapping[int, R]:
    """Like :func:`routes`, over the values of the proto enum ``enum`` (a wrapper such as
    ``pb.DeferRequest.DeferState``)."""
    _check(enum.DESCRIPTOR.full_name, tuple(enum.values()), table)
    return MappingProxyType(dict(table))


def describe(item: Any) -> str:
    """A queue item in a log line: ``record config``, ``request defer``, ``log call``."""
    if isinstance(item, pb.Record):
        kind = item.WhichOneof("record_type")
        if kind == "request":
            return f"request {item.request.WhichOneof('request_type')}"
        return f"record {kind}"
    if type(item) is tuple:
        return "log call"
    return type(item).__name__

"""Artifact names, aliases and ids as they arrive in GraphQL, checked before anything is stored.

A collection or type name is a name (:func:`nbtrack.wire.names.name_problem`) that also can
serve as a path part and a URL part: no ``/ \\ : # ? %``, no ``..``. An alias names one
version inside a collection: the same characters are refused, and ``vN`` is the version
number, never an alias. Ids are W&B's form: base64 of ``Kind:<number>``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from nbtrack.server.wandb.graphql import GraphQLError
from nbtrack.wire.names import name_problem

__all__ = ["artifact_id", "check_alias", "check_name", "node_id", "split_name", "text_id"]

_BAD = frozenset("/\\:#?%")


def _problem(value: Any) -> str | None:
    why = name_problem(value)
    if why is not None:
        return why
    bad = sorted(_BAD.intersection(value))
    if bad:
        return f"holds {', '.join(map(repr, bad))} (not allowed in artifact names)"
    if ".." in value:
        return "holds '..'"
    return None


def _shown(value: Any) -> Any:
    return value[:40] + "..." if isinstance(value, str) and len(value) > 40 else value


def check_name(label: str, value: Any) -> str:
    """``value`` when it is a usable artifact (or type) name; else a GraphQL error saying why."""
    why = _problem(value)
    if why is not None:
        raise GraphQLError(f"invalid {label} {_shown(value)!r}: it {why}")
    return str(value)


def check_alias(value: Any) -> str:
    why = _problem(value)
    if why is None and value[:1] == "v" and value[1:].isdigit():
        why = "is a version number, not an alias"
    if why is not None:
        raise GraphQLError(f"invalid alias {_shown(value)!r}: it {why}")
    return str(value)


def split_name(value: Any) -> tuple[str, str]:
    """``"name:alias"`` (or ``"name:vN"``; a bare name means ``latest``) checked, split."""
    if not isinstance(value, str):
        raise GraphQLError("an artifact name must be a string")
    name, _, alias = value.partition(":")
    alias = alias or "latest"
    check_name("artifact name", name)
    if not (alias[:1] == "v" and alias[1:].isdigit()):
        check_alias(alias)
    return name, alias


def node_id(kind: str, n: int) -> str:
    return base64.b64encode(f"{kind}:{n}".encode()).decode()


def text_id(kind: str, *parts: str) -> str:
    """A stable opaque id of something without a number of its own (a file, an alias)."""
    return base64.b64encode(":".join([kind, *parts]).encode()).decode()


def artifact_id(value: Any, kind: str = "Artifact") -> int:
    """The number in an id of ``kind``; a GraphQL error for anything else."""
    try:
        text = base64.b64decode(str(value), validate=True).decode()
        got, _, n = text.partition(":")
        if got == kind and n.isdigit():
            return int(n)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise GraphQLError(f"invalid {kind} id {_shown(value)!r}")

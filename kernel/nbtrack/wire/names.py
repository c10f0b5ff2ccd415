"""What a run's or a project's name may be, checked the same way wherever one arrives.

A name shows in tables, URLs, file paths and terminals: one that is blank (or only
spaces), longer than :data:`MAX_NAME_CHARS`, or holds control characters (newlines,
escape sequences that would rewrite a terminal) is refused with the reason, never
stored. Characters that could escape a directory are checked where paths are built
(``server/storage/files.safe_name``).
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_NAME_CHARS", "name_problem"]

MAX_NAME_CHARS = 128


def name_problem(value: object) -> str | None:
    """Why ``value`` is not a usable name, or None when it is."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value.strip():
        return "is empty or only spaces"
    if len(value) > MAX_NAME_CHARS:
        return f"is {len(value)} characters long, the limit is {MAX_NAME_CHARS}"
    for c in value:
        if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp"):
            return f"holds the control character {c!r}"
    return None

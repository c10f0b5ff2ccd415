"""Secrets (API keys, the server's admin token) given in a file rather than on the command
line, where every user of the machine sees them in ``ps ax`` and ``/proc/<pid>/cmdline``."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ARGV_WARNING", "read_secret"]

ARGV_WARNING = (
    "{flag} on the command line is visible to every user of this machine (ps ax): "
    "use {env} or {flag}-file PATH instead"
)


def read_secret(path: Path | str, flag: str) -> str:
    """The secret in ``path`` (surrounding whitespace and a trailing newline removed);
    ``ValueError`` naming ``flag`` and the reason when it cannot be used."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise ValueError(f"{flag}-file {path}: cannot read it: {reason}") from None
    secret = text.strip()
    if not secret:
        raise ValueError(f"{flag}-file {path}: the file is empty")
    if any(c.isspace() for c in secret):
        raise ValueError(f"{flag}-file {path}: the file must hold one secret on one line")
    return secret

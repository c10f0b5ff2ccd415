"""Secrets (API keys, the server's admin token) given in a file rather than on the command
line, where every user of the machine sees them in ``ps ax`` and ``/proc/<pid>/cmdline``."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

log = logging.getLogger("nbtrack")

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
    mode = stat.S_IMODE(Path(path).expanduser().stat().st_mode)
    if mode & 0o077:
        log.warning("%s-file %s can be read by other users (mode %o): chmod 600 it",
                    flag, path, mode)
    return secret

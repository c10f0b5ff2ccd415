"""The storage interface the server is written against, and what its backends share.

Two backends implement :class:`Storage`, chosen by URL in :mod:`.url`:
:mod:`.sqlite` (the embedded default: one SQLite file in WAL mode with one writer) and
:mod:`.postgres` (the team server: psycopg 3 with a connection pool, the optional extra
``nbtrack[team]``). Both upgrade an existing database in place: each has a versioned list
of migrations (``sqlite_migrations.py``, ``postgres_migrations.py``); the version applied
last is kept in ``schema_version``; at open the missing ones are applied in order, each in
its own transaction. The backends import from here, never the other way round.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from nbtrack.server.storage.artifacts import ArtifactStorage
from nbtrack.server.storage.stepdedup import Appended
from nbtrack.wire import files

SCHEMA_VERSION = 5  # the number of migrations each implementation has

# run columns settable through upsert (storage name -> kind)
RUN_FIELDS = (
    "display_name",
    "description",
    "notes",
    "group_name",
    "job_type",
    "tags",
    "host",
    "config",
    "summary",
    "sweep_name",
)
# the file_stream files with a table (and a line count on the run) of their own; every
# other line file goes to the generic ``lines`` table
LINE_TABLES = {
    files.HISTORY: "history",
    files.EVENTS: "events",
    files.OUTPUT: "output",
}


class StorageUnavailable(Exception):
    """The database cannot be reached right now (answered with 503 and ``Retry-After``)."""


class Storage(Protocol):
    """What the server needs from a database. Runs are dicts of the ``runs`` columns.

    Accounts (users, team memberships, API keys) live in the same database; key hashes
    only, never keys.
    """

    schema_version: int
    artifacts: ArtifactStorage  # artifact rows, in the same database (``artifacts.py``)

    def get_run(self, entity: str, project: str, name: str) -> dict[str, Any] | None: ...
    def list_runs(
        self, entity: str | None, project: str | None, entities: Collection[str] | None = None
    ) -> list[dict[str, Any]]: ...
    def upsert_run(
        self, entity: str, project: str, name: str, fields: dict[str, Any], state: str | None,
        seq: int | None = None,
    ) -> tuple[dict[str, Any], bool]: ...
    def append_lines(
        self, rid: int, file: str, offset: int, lines: list[str]
    ) -> Appended: ...
    def set_summary(self, rid: int, summary_json: str, seq: int | None = None) -> None: ...
    def finish_run(self, rid: int, exit_code: int | None, seq: int | None = None) -> None: ...
    def heartbeat(self, rid: int) -> None: ...
    def history(self, rid: int, min_step: int | None, max_step: int | None) -> list[str]: ...
    def history_page(self, rid: int, min_step: int | None, max_step: int | None,
                     after: tuple[int | None, int] | None, limit: int) -> list[Any]: ...
    def tail(self, rid: int, file: str, n: int) -> list[str]: ...
    def lines(self, rid: int, file: str) -> list[str]: ...
    def record_file(self, rid: int, name: str, size: int) -> None: ...
    def list_files(self, rid: int) -> list[dict[str, Any]]: ...

    # projects (the W&B public API's ``models`` / ``project``): derived from the runs;
    # each dict has project, created_at (its first run's), first_rid (its id), run_count,
    # updated_at (its runs' latest change: with run_count, the project's version)
    def list_projects(self, entity: str) -> list[dict[str, Any]]: ...
    # (line number, text) of a line file: up to ``limit`` after line ``after`` in order,
    # or with ``last`` the last ``limit`` lines (in order); one index range either way
    def numbered_lines(self, rid: int, file: str, after: int | None, limit: int,
                       last: bool = False) -> list[tuple[int, str]]: ...
    def project_info(self, entity: str, project: str) -> dict[str, Any] | None: ...

    # accounts
    def add_user(self, name: str) -> bool: ...
    def get_user(self, name: str) -> dict[str, Any] | None: ...
    def list_users(self) -> list[dict[str, Any]]: ...
    def add_member(self, team: str, user: str) -> None: ...
    def teams_of(self, user: str) -> list[str]: ...
    def add_key(self, key_id: str, user: str, key_hash: str) -> None: ...
    def find_key(self, key_id: str) -> dict[str, Any] | None: ...
    def list_keys(self, user: str | None) -> list[dict[str, Any]]: ...
    def revoke_key(self, key_id: str) -> bool: ...

    # what every replica must share (stateless servers): the database's clock, the
    # upload-signing keys, page sessions and one-time login codes (hashes of ids only)
    def now(self) -> float: ...
    def signing_keys(self) -> list[tuple[str, bytes]]: ...
    def add_signing_key(self, kid: str, secret: bytes, keep: int) -> None: ...
    def put_secret(
        self, kind: str, digest: str, principal: str, expires_at: float, cap: int
    ) -> None: ...
    def get_secret(self, kind: str, digest: str, spend: bool) -> str | None: ...

    def close(self) -> None: ...


def ordered_update(
    cols: dict[str, Any], state: str | None, seq: int | None, row: Mapping[str, Any]
) -> dict[str, Any]:
    """The columns an ``upsertBucket`` sets on an existing run ``row``, by the order rule.

    ``seq`` is the request's place in the run's order (``wire/ordering.py``): the config
    and the other run fields, the summary and the state each remember the number of the
    update that set them last, and an older update of them is ignored, so a late copy of
    an old request never reverts them. A finished run is reopened (``running``) only by an
    update newer than the one that finished it: a resume, never a stale config upsert.
    Without ``seq`` (the official client, W&B's own order) updates apply as they arrive,
    and any upsert of a finished run reopens it, as a W&B resume does.
    """
    out = dict(cols)
    if seq is not None:
        meta = [k for k in out if k != "summary"]
        if seq < int(row["config_seq"] or 0):
            for k in meta:
                del out[k]
        elif meta:
            out["config_seq"] = seq
        if "summary" in out:
            if seq < int(row["summary_seq"] or 0):
                del out["summary"]
            else:
                out["summary_seq"] = seq
    state_seq = int(row["state_seq"] or 0)
    if state is not None and state != "running":
        if seq is None or seq >= state_seq:
            out["state"] = state
            if state == "crashed":
                out["exit_code"] = None
            if seq is not None:
                out["state_seq"] = seq
    elif row["state"] != "running" and (seq is None or seq > state_seq):
        out.update(state="running", exit_code=None)
        if seq is not None:
            out["state_seq"] = seq
    return out


def new_run_seqs(seq: int | None) -> dict[str, int]:
    """The order columns of a run an upsert creates."""
    return {} if seq is None else {"config_seq": seq, "summary_seq": seq, "state_seq": seq}


_STEP = re.compile(r'"_step"\s*:\s*(-?[0-9]+)\s*[,}]')


def step_of(line: str) -> int | None:
    """The ``_step`` of a history line; None when absent or not an integer.

    A regex finds it ~10x faster than parsing the row; rows where ``"_step"`` appears more
    than once (a nested dict) are parsed properly. Inside JSON strings quotes are escaped,
    so the pattern cannot match string content.
    """
    m = _STEP.search(line)
    if m is not None and line.count('"_step"') == 1:
        return int(m.group(1))
    try:
        row = json.loads(line)
    except ValueError:
        return None
    step = row.get("_step") if isinstance(row, dict) else None
    if isinstance(step, bool) or not isinstance(step, int | float):
        return None
    try:
        return int(step)
    except (OverflowError, ValueError):
        return None

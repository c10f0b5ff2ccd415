"""The sizes and ranges a logged value, row, summary, config and step may have.

Why here: the user side refuses what passes them (in ``log()``, naming the key), the
handler refuses a row that passes them anyway (a replayed log, a direct publisher), and
they are derived from what the wire and the server carry, so every process reads the
same numbers. ``docs/contracts.md`` ("Values") says why each one is what it is.

The budget they fit: a ``file_stream`` post holds at most ``max_post_bytes`` (4 MiB) of
lines plus the summary; each line is a JSON string inside the post's JSON, so the post
is at most twice those bytes (every row text is ASCII: ``\\`` and ``"`` double). With
rows <= 2 MiB and the summary <= 4 MiB a post stays under 2 x (4 + 4) = 16 MiB, half the
server's 32 MiB body limit; the config (<= 4 MiB) is escaped once into a GraphQL body.
"""

from __future__ import annotations

MiB = 1 << 20

# a string value (also inside lists): 1 Mi characters
MAX_STRING_CHARS = 1 * MiB
# one history row as stored: its JSON text (ASCII, non-ASCII as \\u escapes), with the
# _step / _runtime / _timestamp nbtrack adds; half a post, so a row always fits one
MAX_ROW_BYTES = 2 * MiB
# the summary (the last value of every key, its aggregates, the user's writes) encoded
MAX_SUMMARY_BYTES = 4 * MiB
# the config encoded (sent whole with each upsertBucket)
MAX_CONFIG_BYTES = 4 * MiB
# integer values: what int64 (SQLite, PostgreSQL BIGINT, W&B's readers) holds
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# steps: exact in every reader, the run pages' JavaScript too (Number.MAX_SAFE_INTEGER),
# and well inside the proto's and the databases' int64
MAX_STEP = 2**53 - 1

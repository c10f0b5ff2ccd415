"""A run's history as the read API answers it: every row, some keys, or downsampled.

Without ``samples`` the stored line texts are served without re-encoding when no key
filter is asked, so a long run's full history costs one join of strings. With ``samples``,
long ranges come from the precomputed min/max levels (:mod:`.levelcache`) and fine zooms
from the stored rows (:func:`nbtrack.wire.downsample.downsample`), cached.

A long run's rows are read in pages (``limit`` rows, at most ``MAX_PAGE``, after
``cursor``; the answer says ``next_cursor``, null after the last page), so a full read
through ``nbtrack.Api`` holds one page in the server's memory, not the whole run; each page
is one range of the step index (an OFFSET would sort the whole run for every page).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from nbtrack.server.context import ServerContext, loads
from nbtrack.server.readapi import levelcache
from nbtrack.wire import strictjson
from nbtrack.wire.downsample import downsample

Answer = tuple[int, Any]  # (status, JSON-able value | bytes | Path)
MAX_SAMPLES = 100_000
MAX_PAGE = 100_000


def _int(params: dict[str, list[str]], name: str) -> int | None:
    raw = params.get(name, [""])[0]
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


_CACHE: OrderedDict[tuple[Any, ...], list[dict[str, Any]]] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def _sampled(
    ctx: ServerContext,
    run: dict[str, Any],
    lines: list[str] | None,
    keys: list[str] | None,
    samples: int,
    lo: int | None,
    hi: int | None,
) -> list[dict[str, Any]]:
    """Downsampled rows, cached: a chart polling a finished run costs nothing the second time.

    ``updated_at`` changes with every stored line, so it versions the run's history.
    """
    key = (
        id(ctx),
        run["rid"],
        run["updated_at"],
        run["history_line_count"],
        tuple(keys) if keys else None,
        samples,
        lo,
        hi,
    )
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    if lines is None:  # read only on a cache miss
        lines = ctx.storage.history(int(run["rid"]), lo, hi)
    rows = [r for r in (loads(s, None) for s in lines) if isinstance(r, dict)]
    out = downsample(rows, keys, samples)
    with _CACHE_LOCK:
        _CACHE[key] = out
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return out


def history(ctx: ServerContext, run: dict[str, Any], params: dict[str, list[str]]) -> Answer:
    try:
        samples, lo, hi = (
            _int(params, "samples"),
            _int(params, "min_step"),
            _int(params, "max_step"),
        )
    except ValueError as e:
        return 400, {"error": str(e)}
    raw_keys = params.get("keys", [""])[0]
    keys = [k for k in raw_keys.split(",") if k] or None
    if samples is not None and not 1 <= samples <= MAX_SAMPLES:
        return 400, {"error": f"samples must be between 1 and {MAX_SAMPLES}"}
    try:
        limit = _int(params, "limit")
        after = _cursor(params.get("cursor", [""])[0])
    except ValueError as e:
        return 400, {"error": str(e)}
    if limit is not None or after is not None:
        if samples is not None:
            return 400, {"error": "limit / cursor page all rows: not with samples"}
        if limit is None or not 1 <= limit <= MAX_PAGE:
            return 400, {"error": f"limit must be between 1 and {MAX_PAGE}"}
        return _page(ctx, run, keys, lo, hi, after, limit)
    if samples is not None:
        # long ranges from the precomputed min/max levels; fine zooms from the stored rows
        fast = levelcache.query(id(ctx), ctx.storage, run, keys, samples, lo, hi)
        if fast is not None:
            return 200, {"rows": fast}
        return 200, {"rows": _sampled(ctx, run, None, keys, samples, lo, hi)}
    lines = ctx.storage.history(int(run["rid"]), lo, hi)
    if keys is None:
        return 200, strictjson.join_rows(lines)
    return 200, {"rows": _picked(lines, keys)}


def _picked(lines: list[str], keys: list[str]) -> list[dict[str, Any]]:
    rows = [r for r in (loads(s, None) for s in lines) if isinstance(r, dict)]
    wanted = {"_step", *keys}
    picked = [{k: v for k, v in r.items() if k in wanted} for r in rows]
    return [r for r in picked if len(r) > 1 or "_step" not in r]


def _cursor(raw: str) -> tuple[int | None, int] | None:
    """A page cursor, ``<step>.<line>`` (``n.<line>``: the rows without a step)."""
    if not raw:
        return None
    step, _, line = raw.partition(".")
    try:
        return (None if step == "n" else int(step)), int(line)
    except ValueError:
        raise ValueError("cursor must be what next_cursor said") from None


def _page(ctx: ServerContext, run: dict[str, Any], keys: list[str] | None, lo: int | None,
          hi: int | None, after: tuple[int | None, int] | None, limit: int) -> Answer:
    """One page of rows and the cursor of the next (null after the last page)."""
    got = ctx.storage.history_page(int(run["rid"]), lo, hi, after, limit)
    lines = [text for _, _, text in got]
    nxt = None
    if len(got) == limit:
        step, line, _ = got[-1]
        nxt = f"{'n' if step is None else step}.{line}"
    if keys is None:
        raw = strictjson.join_rows(lines)
        tail = b', "next_cursor": ' + (b"null" if nxt is None else f'"{nxt}"'.encode()) + b"}"
        return 200, strictjson.RawJSON(raw.body[:-1] + tail)
    return 200, {"rows": _picked(lines, keys), "next_cursor": nxt}

"""Display forms of a run: deterministic ``text/plain`` and static ``text/html``.

Why: nbval, nbconvert, terminals and front ends without widgets see only these
forms, so they must not contain memory addresses and must read well on their own.
``run_mimebundle`` is what ``Run._repr_mimebundle_`` delegates to; the live widget's
bundle comes from the notebook layer through :func:`nbtrack.sdk.hooks.live_view`, so this
layer never imports the one above it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nbtrack.client import links
from nbtrack.sdk import hooks
from nbtrack.sdk.view import RunInfo, RunView
from nbtrack.wire import strictjson

Bundle = dict[str, Any]

def format_value(value: Any) -> str:
    """A short, stable text for a metric value (summary dicts as ``k=v`` pairs)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(strictjson.number(value))
        return f"{value:.6g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return f"[{len(value)} values]"
    return str(value)


def run_title(run: RunInfo) -> str:
    """``nbtrack run <name> (<project>) — <state>``: the one-line text form of a run."""
    return f"nbtrack run {run.name or run.id or '?'} ({run.project}) — {run.state}"


def _summary_items(summary: Any) -> list[tuple[str, Any]]:
    try:
        items = dict(summary or {}).items()
    except (TypeError, ValueError):
        return []
    return sorted((str(k), v) for k, v in items if not str(k).startswith("_"))


def summary_html(summary: Any) -> str:
    """The summary as the contract's ``.nbtrack-summary`` table (rows ``tr[data-key]``)."""
    rows = "".join(
        f'<tr data-key="{html.escape(k)}"><td>{html.escape(k)}</td>'
        f"<td>{html.escape(format_value(v))}</td></tr>"
        for k, v in _summary_items(summary)
    )
    return f'<table class="nbtrack-summary">{rows}</table>' if rows else ""


def page_url(run: RunInfo) -> str | None:
    """The ``href`` of the run's page in HTML output: ABSOLUTE through Jupyter when nbtrack's
    server extension runs in the Jupyter server that started this kernel (it exports
    ``NBTRACK_JUPYTER_PAGES``, so the link is right behind a hub), else the run's own URL on
    the tracking server. Never a login code: HTML is kept in the notebook and rendered on
    every display. None when the run has no server. Built by
    :func:`nbtrack.client.links.for_run`."""
    link = links.for_run(run, login=False)
    return link.url if link is not None else None


def printed_link(run: RunInfo) -> str | None:
    """The run's link as printed for a person (``%track_status``, finish messages): the same
    as :func:`page_url` inside Jupyter; elsewhere a one-time login link to the tracking
    server's page, or the page and how to log in."""
    link = links.for_run(run)
    return str(link) if link is not None else None


def _head_html(run: RunInfo, badge: str) -> str:
    """A card's first line: the run's name, project, state (``badge`` its class) and link."""
    state = html.escape(run.state)
    url = page_url(run)
    link = f' <a href="{html.escape(str(url))}" target="_blank">open</a>' if url else ""
    return (f"<div><b>{html.escape(run.name or run.id or '?')}</b> ({html.escape(run.project)})"
            f' <span{badge} data-state="{state}">{state}</span>{link}</div>')


def run_html(run: RunInfo, summary: Any = None) -> str:
    """A static card for front ends without widgets; same classes as the live widget."""
    sync = run.sync_command
    sync_html = f"<div>sync with: <code>{html.escape(str(sync))}</code></div>" if sync else ""
    head = _head_html(run, ' class="nbtrack-badge"')
    return (
        f'<div class="nbtrack-widget nbtrack-static" data-run-id="{html.escape(run.id)}">'
        f"{head}{sync_html}{summary_html(summary)}</div>"
    )


SPARK_POINTS = 40  # what a sparkline keeps of a series: its shape, not its detail
_BLOCKS = "▁▂▃▄▅▆▇█"


def _spark_values(values: Sequence[float]) -> list[float]:
    """The finite values, thinned to at most SPARK_POINTS by bucket means."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(finite) <= SPARK_POINTS:
        return finite
    step = len(finite) / SPARK_POINTS
    return [sum(b) / len(b) for b in (finite[int(i * step):int((i + 1) * step)] or finite[-1:]
                                      for i in range(SPARK_POINTS))]


def sparkline_text(values: Sequence[float]) -> str:
    """W&B's finish-summary sparkline: one block character per point."""
    pts = _spark_values(values)
    if len(pts) < 2:
        return ""
    lo, hi = min(pts), max(pts)
    span = (hi - lo) or 1.0
    return "".join(_BLOCKS[min(int((v - lo) / span * len(_BLOCKS)), len(_BLOCKS) - 1)]
                   for v in pts)


def sparkline_svg(values: Sequence[float], width: int = 120, height: int = 22) -> str:
    """An inline SVG polyline: no script, no CDN, so it survives nbconvert and GitHub."""
    pts = _spark_values(values)
    if len(pts) < 2:
        return ""
    lo, hi = min(pts), max(pts)
    span = (hi - lo) or 1.0
    xy = " ".join(f"{i * (width - 2) / (len(pts) - 1) + 1:.1f},"
                  f"{height - 1 - (v - lo) / span * (height - 2):.1f}" for i, v in enumerate(pts))
    return (f'<svg class="nbtrack-spark" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><polyline fill="none" stroke="currentColor" '
            f'stroke-width="1.2" points="{xy}"/></svg>')


def final_card(run: RunView, history: Mapping[str, Any] | None) -> Bundle:
    """What ``%track_finish`` leaves in its cell: the state, the link, and each summary value
    with the sparkline of its run, as text and as static HTML (W&B's finish summary)."""
    series = dict((history or {}).get("series") or {})
    items = _summary_items(run.summary)
    width = max((len(k) for k, _ in items), default=0)
    lines = [run_title(run)]
    rows = []
    for key, value in items:
        values = (series.get(key) or {}).get("values") or []
        text = format_value(value)
        lines.append(f"  {key:<{width}}  {text:<12} {sparkline_text(values)}".rstrip())
        rows.append(f'<tr data-key="{html.escape(key)}"><td>{html.escape(key)}</td>'
                    f"<td>{html.escape(text)}</td><td>{sparkline_svg(values)}</td></tr>")
    table = f'<table class="nbtrack-final-summary">{"".join(rows)}</table>' if rows else ""
    card = (f'<div class="nbtrack-final" data-run-id="{html.escape(run.id)}">'
            f"{_head_html(run, '')}{table}</div>")
    return {"text/plain": "\n".join(lines), "text/html": card}


def filter_bundle(data: Bundle, include: Iterable[str] | None, exclude: Iterable[str] | None
                  ) -> Bundle:
    """Honour IPython's include / exclude mime-type filters."""
    keep = set(include) if include else None
    drop = set(exclude or ())
    return {k: v for k, v in data.items() if (keep is None or k in keep) and k not in drop}


def run_mimebundle(run: RunView, include: Iterable[str] | None = None,
                   exclude: Iterable[str] | None = None) -> Bundle:
    """Everything ``Run._repr_mimebundle_`` returns: the live widget if one shows the run,
    otherwise static text and HTML. Never raises: a repr must not break a cell."""
    data = hooks.live_view(run)
    summary = run.summary if run.state != "running" else None
    # The run's own state, not the widget's (which lags by up to one UI tick).
    static = {"text/plain": run_title(run), "text/html": run_html(run, summary)}
    data = static if data is None else {**data, **static}
    return filter_bundle(data, include, exclude)

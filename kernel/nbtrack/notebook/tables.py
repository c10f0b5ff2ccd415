"""Run tables for ``%track_runs`` and the text of ``%track_status``.

Why a display object and not a print: notebooks keep the HTML table, while nbval and
terminals read the deterministic ``text/plain`` form.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nbtrack.sdk.display import format_value, printed_link, run_title

if TYPE_CHECKING:
    from nbtrack.client.readapi import ApiRun
    from nbtrack.sdk.view import RunView

MAX_AUTO_METRICS = 5
_AGGREGATE_ORDER = ("last", "best", "min", "max", "mean", "first")


def metric_value(summary: Mapping[str, Any], key: str) -> Any:
    """A summary entry as one value; an aggregate dict gives its ``last`` (or best, ...)."""
    value = summary.get(key)
    if isinstance(value, Mapping):
        for name in _AGGREGATE_ORDER:
            if name in value:
                return value[name]
        return None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _row_of(run: ApiRun) -> dict[str, Any]:
    steps = run.data.get("history_line_count")
    if steps is None and run.last_step is not None:
        steps = int(run.last_step) + 1
    return {"name": str(run.name), "id": str(run.id), "project": str(run.project),
            "state": str(run.state), "steps": steps if steps is not None else "",
            "summary": dict(run.summary)}


def choose_metrics(rows: Iterable[Mapping[str, Any]], sort: str | None) -> list[str]:
    """The sort metric first, then the numeric summary keys most runs have."""
    counts: dict[str, int] = {}
    for row in rows:
        for key in row["summary"]:
            if not key.startswith("_") and _is_number(metric_value(row["summary"], key)):
                counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    chosen = [sort] if sort and sort not in ("name", "state", "steps", "id") else []
    return chosen + [k for k in ranked if k not in chosen][: MAX_AUTO_METRICS]


def _sort_key(row: Mapping[str, Any], sort: str) -> tuple[int, Any]:
    """Missing or non-numeric values sort last whatever the direction."""
    if sort in ("name", "state", "id"):
        return (0, row[sort])
    value = row["steps"] if sort == "steps" else metric_value(row["summary"], sort)
    if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
        return (1, 0)
    return (0, value)


class RunTable:
    """Runs as a table with state, steps and chosen summary metrics."""

    def __init__(self, runs: Iterable[ApiRun], *, metrics: list[str] | None = None,
                 sort: str | None = None, desc: bool = False, title: str = "") -> None:
        self.rows = [_row_of(r) for r in runs]
        self.title = title
        if sort:
            present = [r for r in self.rows if _sort_key(r, sort)[0] == 0]
            missing = [r for r in self.rows if _sort_key(r, sort)[0] == 1]
            present.sort(key=lambda r: _sort_key(r, sort)[1], reverse=desc)
            self.rows = present + missing
        self.metrics = list(metrics) if metrics else choose_metrics(self.rows, sort)

    @property
    def columns(self) -> list[str]:
        return ["name", "id", "state", "steps", *self.metrics]

    def cells(self) -> list[list[str]]:
        out = []
        for row in self.rows:
            fixed = [row["name"], row["id"], row["state"], str(row["steps"])]
            out.append(fixed + [format_value(metric_value(row["summary"], m))
                                if m in row["summary"] else "" for m in self.metrics])
        return out

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        if not self.rows:
            return f"{self.title}no runs" if self.title else "no runs"
        table = [self.columns, *self.cells()]
        widths = [max(len(r[i]) for r in table) for i in range(len(self.columns))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                 for r in table]
        return "\n".join(([self.title.rstrip()] if self.title else []) + lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            f'<tr data-run-id="{html.escape(row["id"])}">'
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
            for row, cells in zip(self.rows, self.cells(), strict=True))
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return (f'<table class="nbtrack-runs">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def status_lines(run: RunView, history: Mapping[str, Any] | None) -> list[str]:
    """``%track_status``: what the run is and where its data goes, one fact a line."""
    lines = [run_title(run), f"  id:        {run.id}", f"  mode:      {run.mode}"]
    if history:
        lines.append(f"  step:      {history.get('last_step', 0)} "
                     f"({history.get('rows', 0)} rows logged)")
    page = printed_link(run)  # one link, the one the reader's browser opens
    if page:
        lines.append(f"  page:      {page}")
    lines.append(f"  log:       {run.log_path}")
    if run.exit_code is not None:
        lines.append(f"  exit code: {run.exit_code}")
    if run.sync_command:
        lines.append(f"  sync with: {run.sync_command}")
    return lines

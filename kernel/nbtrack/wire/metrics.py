"""``define_metric`` as W&B carries it: the merge rule and the ``_wandb.m`` encoding.

W&B clients keep one definition per metric name (or ``*`` glob) and fold each new
``define_metric`` call into it: summary aggregates, ``hidden`` and ``step_sync`` add up;
a given ``step_metric``, goal or ``summary="none"`` choice replaces the old one. The
definitions travel in the run config as ``_wandb.m``: a list of MetricRecord protos
written as ``{field number: value}`` dicts (W&B's ``wandb_internal.proto``), where a step
metric is sent as ``"5"`` = its one-based index in the list (``step_metric_index``); a step
metric that was never defined itself is listed after its first user, with no options.
Standard library only: the pipeline encodes, the server and the tests decode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["SUMMARY_FIELDS", "MetricDef", "decode", "encode", "merge"]

# MetricSummary's fields (wandb_internal.proto), by nbtrack's aggregate names
SUMMARY_FIELDS = {"min": 1, "max": 2, "mean": 3, "best": 4, "last": 5, "none": 6, "first": 8}
_SUMMARY_NAMES = {v: k for k, v in SUMMARY_FIELDS.items()} | {7: "copy"}
GOALS = {"minimize": 1, "maximize": 2}  # MetricRecord.MetricGoal
_GOAL_NAMES = {v: k for k, v in GOALS.items()}
# MetricRecord fields and MetricOptions fields
NAME, GLOB_NAME, STEP_METRIC, STEP_METRIC_INDEX, OPTIONS, SUMMARY, GOAL = (
    "1", "2", "4", "5", "6", "7", "8")
STEP_SYNC, HIDDEN, DEFINED = 1, 2, 3


@dataclass(frozen=True)
class MetricDef:
    """One metric's definition after every ``define_metric`` call for its name."""

    name: str  # may end with "*": a glob
    step_metric: str = ""
    summary: frozenset[str] = field(default_factory=frozenset)  # aggregates, without "none"
    none: bool = False  # summary="none": the metric is left out of the summary
    goal: str = ""  # "minimize" | "maximize" | ""
    hidden: bool = False
    step_sync: bool = False  # W&B: the step metric's value is added to each row
    defined: bool = False  # named in a define_metric call (a glob or a bare step metric: not)

    @property
    def is_glob(self) -> bool:
        return self.name.endswith("*")


def merge(prev: MetricDef | None, name: str, *, step_metric: str = "",
          summary: Iterable[str] = (), goal: str = "", hidden: bool = False) -> MetricDef:
    """``prev`` with one more ``define_metric(name, ...)`` folded in, by W&B's rule."""
    base = prev if prev is not None else MetricDef(name)
    wanted = {s.strip().lower() for s in summary if s and s.strip()}
    out = replace(base, hidden=base.hidden or hidden,
                  step_sync=base.step_sync or bool(step_metric),
                  defined=base.defined or not name.endswith("*"))
    if step_metric:
        out = replace(out, step_metric=step_metric)
    if wanted:  # a summary given: its "none" choice replaces, its aggregates add up
        out = replace(out, none="none" in wanted,
                      summary=out.summary | (wanted - {"none"}))
    if goal:
        out = replace(out, goal=goal)
    return out


def _record(d: MetricDef) -> dict[str, Any]:
    rec: dict[str, Any] = {GLOB_NAME if d.is_glob else NAME: d.name}
    options = [n for n, on in ((STEP_SYNC, d.step_sync), (HIDDEN, d.hidden),
                               (DEFINED, d.defined)) if on]
    rec[OPTIONS] = options
    names = set(d.summary) | ({"none"} if d.none else set())
    rec[SUMMARY] = sorted(SUMMARY_FIELDS[n] for n in names if n in SUMMARY_FIELDS)
    if d.goal in GOALS:
        rec[GOAL] = GOALS[d.goal]
    return rec


def encode(defs: Iterable[MetricDef]) -> list[dict[str, Any]]:
    """The ``_wandb.m`` list: every definition once, each step metric before its users."""
    by_name = {d.name: d for d in defs}
    out: list[dict[str, Any]] = []
    index: dict[str, int] = {}

    def add(d: MetricDef) -> None:
        if d.name in index:
            return
        index[d.name] = len(out)
        out.append({})
        rec = _record(d)
        if d.step_metric:
            add(by_name.get(d.step_metric) or MetricDef(d.step_metric))
            rec[STEP_METRIC_INDEX] = index[d.step_metric] + 1
        out[index[d.name]] = rec

    for d in list(by_name.values()):
        if not d.is_glob:
            add(d)
    for d in list(by_name.values()):
        if d.is_glob:
            add(d)
    return out


def decode(records: Any) -> dict[str, dict[str, Any]]:
    """``_wandb.m`` (W&B's encoding, from any W&B client) as readable definitions by name:
    ``{"step_metric", "summary" (sorted names), "goal", "hidden", "step_sync"}``."""
    if not isinstance(records, list):
        return {}
    names = [r.get(NAME) or r.get(GLOB_NAME) if isinstance(r, dict) else None for r in records]
    out: dict[str, dict[str, Any]] = {}
    for rec, name in zip(records, names, strict=True):
        if not isinstance(name, str) or not name:
            continue
        step = rec.get(STEP_METRIC) or ""
        idx = rec.get(STEP_METRIC_INDEX)
        if isinstance(idx, int) and 1 <= idx <= len(names) and isinstance(names[idx - 1], str):
            step = names[idx - 1]
        options = rec.get(OPTIONS) or []
        summary = rec.get(SUMMARY) or []
        out[name] = {
            "step_metric": step,
            "summary": sorted(_SUMMARY_NAMES.get(n, str(n)) for n in summary),
            "goal": _GOAL_NAMES.get(rec.get(GOAL, 0), ""),
            "hidden": HIDDEN in options,
            "step_sync": STEP_SYNC in options,
        }
    return out

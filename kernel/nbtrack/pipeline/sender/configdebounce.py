"""Config changes and metric definitions folded into one upsert per ``delay`` seconds.

A training loop may set ``run.config[...]`` or call ``define_metric`` many times
in a row; each change replaces the full config, so only the latest needs sending.
Pure: the caller passes the clock, so the debounce rules are tested without waiting.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nbtrack.pipeline.sender.wandbblock import client_block
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.wire import config as wandb_config
from nbtrack.wire import metrics as wire_metrics

log = logging.getLogger("nbtrack.pipeline.sender.configdebounce")


class ConfigDebouncer:
    """The latest config and metrics, and since when they wait to be sent."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._run_config_json = ""  # from the run record, until a config record comes
        self._config_json: str | None = None
        self._metrics: dict[str, wire_metrics.MetricDef] = {}
        self._dirty_since: float | None = None

    def run_config(self, config_json: str) -> None:
        """The config the run started with (the first one given wins)."""
        if config_json and not self._run_config_json:
            self._run_config_json = config_json

    def config(self, full_json: str, now: float) -> None:
        self._config_json = full_json
        self._mark(now)

    def metric(self, metric: pb.MetricRecord, now: float) -> None:
        """One more ``define_metric``, folded into the metric's definition (W&B's rule)."""
        self._metrics[metric.name] = wire_metrics.merge(
            self._metrics.get(metric.name), metric.name, step_metric=metric.step_metric,
            summary=metric.summary, goal=metric.goal, hidden=metric.hidden)
        self._mark(now)

    def _mark(self, now: float) -> None:
        if self._dirty_since is None:
            self._dirty_since = now

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """The definitions in W&B's ``_wandb.m`` encoding (``wire/metrics.py``)."""
        return wire_metrics.encode(self._metrics.values())

    @property
    def pending(self) -> bool:
        return self._dirty_since is not None

    def due_in(self, now: float) -> float | None:
        """Seconds until the pending change is due (0: now); None when nothing is pending."""
        if self._dirty_since is None:
            return None
        return max(0.0, self._dirty_since + self.delay - now)

    def take(self) -> str | None:
        """The pending change as W&B config JSON (nothing is pending afterwards).

        None when the config is not valid JSON (logged; nothing to send).
        """
        self._dirty_since = None
        raw = self._config_json if self._config_json is not None else self._run_config_json
        try:
            config = json.loads(raw) if raw else {}
        except ValueError:
            log.warning("sender: config is not valid JSON; not sent")
            return None
        if not isinstance(config, dict):
            config = {}
        return wandb_config.wrap(config, self.metrics, client_block())

"""A run's config as the W&B wire carries it: ``{"k": {"value": v}}`` plus ``_wandb``.

Every key of the user's config is wrapped in ``{"value": ...}``; the ``_wandb`` key holds
the client's own block (metric definitions under ``m``; W&B clients also read ``t`` to tell
that a run has started). Unwrapping drops ``_wandb``: it is not the user's config.
"""

from __future__ import annotations

import json
from typing import Any

WANDB_KEY = "_wandb"


def _parsed(config: Any) -> Any:
    """The config as a value: a JSON string parsed ({} when empty or invalid), else as is."""
    if isinstance(config, str):
        try:
            return json.loads(config) if config else {}
        except ValueError:
            return {}
    return config


def wrap(config: dict[str, Any], metrics: list[dict[str, Any]] | None = None,
         client: dict[str, Any] | None = None) -> str:
    """The W&B config format ``{"k": {"value": v}}`` as a JSON string.

    The ``_wandb`` block holds ``client`` (the fields W&B clients send about themselves:
    ``cli_version``, ``python_version``, ``is_jupyter_run``, telemetry ``t``) and the metric
    definitions as ``m`` (W&B's encoding, ``wire/metrics.py``; W&B sends ``m`` always).
    """
    out: dict[str, Any] = {k: {"value": v} for k, v in config.items() if k != WANDB_KEY}
    if metrics or client:
        out[WANDB_KEY] = {"value": {**(client or {}), "m": list(metrics or [])}}
    return json.dumps(out, default=str)


def unwrap(config: Any) -> dict[str, Any]:
    """``{"k": {"value": v, "desc": ...}}`` → ``{"k": v}``, without ``_wandb`` (inverse of
    :func:`wrap`; accepts the JSON string or a dict; anything unreadable gives ``{}``)."""
    config = _parsed(config)
    if not isinstance(config, dict):
        return {}
    out: dict[str, Any] = {}
    for k, v in config.items():
        if k == WANDB_KEY:
            continue
        out[k] = v["value"] if isinstance(v, dict) and "value" in v else v
    return out


def wandb_block(config: Any) -> dict[str, Any]:
    """The values of the ``_wandb`` block (wrapped in ``value`` or not), ``{}`` when none."""
    config = _parsed(config)
    inner = config.get(WANDB_KEY) if isinstance(config, dict) else None
    values = inner.get("value", inner) if isinstance(inner, dict) else {}
    return values if isinstance(values, dict) else {}

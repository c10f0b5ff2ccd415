"""The import path the pipeline has used since 0.1: ``Transport`` is the W&B client.

Kept so that ``from nbtrack.client.transport import Transport, TransportError`` goes
on working while the sender is redesigned; new code imports from the modules that
define these names (:mod:`~nbtrack.client.wandbclient`, :mod:`~nbtrack.client.errors`,
:mod:`~nbtrack.client.netstatus`, :mod:`~nbtrack.client.policy`).
"""

from __future__ import annotations

from nbtrack.client.errors import TransportError
from nbtrack.client.netstatus import NetStatus
from nbtrack.client.policy import backoff_delay, classify, parse_retry_after
from nbtrack.client.wandbclient import WandbClient

Transport = WandbClient

__all__ = [
    "NetStatus",
    "Transport",
    "TransportError",
    "WandbClient",
    "backoff_delay",
    "classify",
    "parse_retry_after",
]

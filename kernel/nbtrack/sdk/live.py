"""A run's live views: questions to the pipeline through the mailbox, each bounded by a
timeout, and their answers as the plain dicts of the contract (``docs/contracts.md``).

Why apart from ``Run``: asking is the same for every view (publish a request, wait at
most ``timeout``, give up the slot on time-out, None once the pipeline is closed), and
the protobuf answers stay out of the user-facing object.
"""

from __future__ import annotations

import json
from typing import Any

from nbtrack.pipeline.interface import Interface
from nbtrack.pipeline.mailbox import MailboxClosed, MailboxHandle
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.sdk.runstream import RunStream

OFFLINE_NETWORK: dict[str, Any] = {"state": "offline", "status_code": 0, "retry_count": 0,
                                   "error": "", "since": 0.0, "pending_bytes": 0}


class LiveQueries:
    """Requests a run's user side may send while its pipeline runs; None = no answer."""

    def __init__(self, iface: Interface | None, stream: RunStream | None) -> None:
        self._iface = iface
        self._stream = stream

    @property
    def open(self) -> bool:
        """True while the pipeline can answer (not disabled, not closed by finish)."""
        return self._iface is not None and self._stream is not None and not self._stream.closed

    def _ask(self, handle: MailboxHandle, timeout: float) -> pb.Result | None:
        try:
            result = handle.wait(timeout)
        except MailboxClosed:
            return None
        if result is None:
            handle.abandon()
        return result

    def summary(self, timeout: float = 10.0) -> dict[str, Any] | None:
        if not self.open or self._iface is None:
            return None
        result = self._ask(self._iface.deliver_get_summary(), timeout)
        return None if result is None else json.loads(result.get_summary.summary_json or "{}")

    def sampled_history(self, keys: list[str] | None, timeout: float) -> dict[str, Any] | None:
        if not self.open or self._iface is None:
            return None
        result = self._ask(self._iface.deliver_sampled_history(keys), timeout)
        return None if result is None else history_dict(result.sampled_history)

    def network_status(self, timeout: float) -> dict[str, Any] | None:
        if not self.open or self._iface is None:
            return None
        result = self._ask(self._iface.deliver_network_status(), timeout)
        return None if result is None else network_dict(result.network_status)

    def flush(self, timeout: float) -> bool:
        """Wait until everything published so far has passed the handler."""
        if not self.open or self._iface is None:
            return True
        return self._ask(self._iface.deliver_flush(), timeout) is not None

    def next_step(self, timeout: float) -> int | None:
        """The step the next committed row gets, once everything published so far has
        passed the handler (which alone knows it: explicit steps, ``commit=False``)."""
        if not self.open or self._iface is None:
            return None
        result = self._ask(self._iface.deliver_flush(), timeout)
        return None if result is None else int(result.flush.next_step)


def history_dict(resp: pb.SampledHistoryResponse) -> dict[str, Any]:
    series = {}
    for s in resp.series:
        series[s.key] = {"steps": list(s.steps), "values": list(s.values), "min": s.min,
                         "max": s.max, "last": s.last, "count": s.count}
    return {"last_step": resp.last_step, "rows": resp.rows, "series": series}


def network_dict(ns: pb.NetworkStatusResponse) -> dict[str, Any]:
    return {"state": ns.state or "ok", "status_code": ns.last_status_code,
            "retry_count": ns.retry_count, "error": ns.last_error, "since": ns.since,
            "pending_bytes": ns.pending_bytes}

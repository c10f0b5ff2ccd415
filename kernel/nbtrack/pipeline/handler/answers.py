"""What the handler answers to the requests it owns, built from its state.

Why apart from the stage: the stage decides *when* a request is answered (in queue
order, after the rows before it were flushed); these pure functions say *what* the
answer holds, each a ``pb.Result`` carrying the request's mailbox slot.
"""

from __future__ import annotations

import json
import logging

from nbtrack.pipeline.handler.rows import Rows
from nbtrack.pipeline.handler.sampling import HistorySampler
from nbtrack.pipeline.handler.summary import Summary
from nbtrack.proto import nbtrack_pb2 as pb

_log = logging.getLogger("nbtrack.pipeline.handler.stage")


def done(request: pb.Record) -> pb.Result:
    """An empty answer: the request was carried out (``run_start``)."""
    return pb.Result(mailbox_slot=request.control.mailbox_slot)


def flushed(request: pb.Record, next_step: int) -> pb.Result:
    return pb.Result(mailbox_slot=request.control.mailbox_slot,
                     flush=pb.FlushResponse(next_step=next_step))


def defer_done(request: pb.Record) -> pb.Result:
    return pb.Result(mailbox_slot=request.control.mailbox_slot,
                     defer=pb.DeferResponse(state=request.request.defer.state))


def summary(request: pb.Record, state: Summary) -> pb.Result:
    return pb.Result(mailbox_slot=request.control.mailbox_slot,
                     get_summary=pb.GetSummaryResponse(summary_json=state.to_json()))


def sampled_history(request: pb.Record, sampler: HistorySampler, rows: Rows) -> pb.Result:
    """The bounded, extremes-keeping series of the keys asked for (every key when none)."""
    series = [
        pb.SampledSeries(key=s.key, steps=s.steps, values=s.values, min=s.min, max=s.max,
                         last=s.last, count=s.count)
        for s in sampler.snapshot(list(request.request.sampled_history.keys))
    ]
    last_step = rows.last_step if rows.rows_total else max(rows.step - 1, 0)
    return pb.Result(
        mailbox_slot=request.control.mailbox_slot,
        sampled_history=pb.SampledHistoryResponse(series=series, last_step=last_step,
                                                  rows=rows.rows_total),
    )


def seed_summary(state: Summary, summary_json: str) -> None:
    """A resumed run keeps its earlier summary until its keys are logged again."""
    try:
        earlier = json.loads(summary_json)
    except ValueError:
        _log.warning("handler: resumed summary is not JSON; ignored")
        return
    if isinstance(earlier, dict):
        state.update_user({k: v for k, v in earlier.items() if not k.startswith("_")})

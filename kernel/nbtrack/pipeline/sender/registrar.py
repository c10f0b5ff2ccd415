"""Creating (or resuming) the run on the server: the resume check, then ``upsertBucket``.

No thread of its own: run control calls :meth:`RunRegistrar.register` in its
thread, in order with the run's other GraphQL calls. Errors never raise: they
come back in ``RunResult.error`` with a message that says what to do.

A live run asks the server first whether the run exists (W&B's resume-status
query) and applies the ``resume`` choice: ``must`` needs it, ``never`` refuses
it, unset refuses a run that already has history rows (rather than silently
writing over them). A resumed run gets its config and summary back and continues
each file at the server's line counts, at the step after the last one.
A replayed log (``nbtrack sync``) skips the check: the log says the offsets.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nbtrack.client import gql
from nbtrack.client.errors import TransportError
from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.sender.filestream_wire import error_code, error_info
from nbtrack.pipeline.sender.wandbblock import client_block
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.wire import config as wandb_config
from nbtrack.wire import urls
from nbtrack.wire.files import EVENTS, HISTORY, OUTPUT
from nbtrack.wire.ordering import next_seq

log = logging.getLogger("nbtrack.pipeline.sender.registrar")


def offsets_of(run: pb.RunRecord) -> dict[str, int]:
    """The file-stream offsets a run record carries."""
    return {HISTORY: int(run.history_line_offset), EVENTS: int(run.events_line_offset),
            OUTPUT: int(run.output_line_offset)}


class RunRegistrar:
    """See the module docstring; remembers the viewer's entity across calls."""

    def __init__(self, transport: WandbClient, *, replay: bool = False) -> None:
        self._t = transport
        self._replay = replay
        self._viewer_entity: str | None = None

    def register(self, record: pb.RunRecord, metrics: list[dict[str, Any]]) -> pb.RunResult:
        """Create or update the run; the answer has the run as the server knows it, or an error.

        A live run's answer has ``offsets_known`` set, with its starting step and offsets.
        """
        run = pb.RunRecord()
        run.CopyFrom(record)
        result = pb.RunResult()
        try:
            run.entity = self._entity_for(run)
            config = _config_of(run)
            status: gql.ResumeStatus | None = None
            if not self._replay and not run.offsets_known:
                status = gql.parse_resume_status(self._t.graphql(
                    gql.RUN_RESUME_STATUS,
                    {"project": run.project or None, "entity": run.entity or None,
                     "name": run.run_id}))
                err = _resume_error(run, status)
                if err is not None:
                    result.error.CopyFrom(err)
                    result.run.CopyFrom(run)
                    return result
            if status is not None:
                if status.summary:
                    run.summary_json = json.dumps(status.summary, default=str)
                config = {**status.config, **config}
                run.config_json = json.dumps(config, default=str)
            variables = gql.upsert_variables(
                run, run.entity, config_json=wandb_config.wrap(config, metrics, client_block()))
            bucket = gql.parse_upsert(self._t.graphql(gql.UPSERT_BUCKET, variables,
                                                      seq=next_seq()))
        except TransportError as e:
            result.error.CopyFrom(error_info(error_code(e), str(e)))
            result.run.CopyFrom(run)
            return result
        if bucket.entity:
            run.entity = bucket.entity
        if bucket.project:
            run.project = bucket.project
        if bucket.display_name and not run.display_name:
            run.display_name = bucket.display_name
        run.url = urls.run_url(self._t.base_url, run.entity, run.project, run.run_id)
        if not self._replay and not run.offsets_known:
            _continue_from(run, status)
        result.run.CopyFrom(run)
        return result

    def _entity_for(self, run: pb.RunRecord) -> str:
        if run.entity:
            return run.entity
        if self._viewer_entity is None:
            self._viewer_entity = gql.parse_viewer_entity(self._t.graphql(gql.VIEWER, {}))
        return self._viewer_entity


def _config_of(run: pb.RunRecord) -> dict[str, Any]:
    if not run.config_json:
        return {}
    try:
        loaded = json.loads(run.config_json)
    except ValueError:
        log.warning("run %s: config_json is not valid JSON; not sent", run.run_id)
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _continue_from(run: pb.RunRecord, status: gql.ResumeStatus | None) -> None:
    """Set where the run continues: the server's counts when it existed, else the start."""
    run.offsets_known = True
    if status is not None:
        run.resumed = True
        run.starting_step = status.starting_step
        run.history_line_offset = status.history_line_count
        run.events_line_offset = status.events_line_count
        run.output_line_offset = status.log_line_count
        run.runtime_offset = status.runtime_offset
    else:
        run.resumed = False
        run.starting_step = 0
        run.history_line_offset = run.events_line_offset = run.output_line_offset = 0
        run.runtime_offset = 0.0


def _resume_error(run: pb.RunRecord, status: gql.ResumeStatus | None) -> pb.ErrorInfo | None:
    where = f"{run.entity}/{run.project}/{run.run_id}".lstrip("/")
    if run.resume == "must" and status is None:
        return error_info(pb.ErrorInfo.NOT_FOUND,
                          f"resume='must' but run {where} does not exist on the server")
    if run.resume == "never" and status is not None:
        return error_info(pb.ErrorInfo.CONFLICT,
                          f"resume='never' but run {where} already exists on the server")
    if not run.resume and status is not None and status.history_line_count > 0:
        return error_info(
            pb.ErrorInfo.CONFLICT,
            f"run {where} already exists on the server with {status.history_line_count} "
            "history rows; pass resume='allow' to continue it or choose another id")
    return None

"""The GraphQL operations the sender speaks (W&B names) and pure helpers around them.

Nothing here does I/O: functions build variables from records and parse answers,
so they are tested without a server.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.wire import config as wandb_config

VIEWER = """
query Viewer {
  viewer { id entity username }
}
"""

UPSERT_BUCKET = """
mutation UpsertBucket(
  $id: String, $name: String, $project: String, $entity: String,
  $groupName: String, $description: String, $displayName: String, $notes: String,
  $config: JSONString, $host: String, $program: String, $jobType: String,
  $state: String, $tags: [String!], $summaryMetrics: JSONString
) {
  upsertBucket(input: {
    id: $id, name: $name, groupName: $groupName, modelName: $project,
    entityName: $entity, description: $description, displayName: $displayName,
    notes: $notes, config: $config, host: $host, jobProgram: $program,
    jobType: $jobType, state: $state, tags: $tags, summaryMetrics: $summaryMetrics
  }) {
    bucket {
      id name displayName description config
      project { id name entity { id name } }
      historyLineCount
    }
    inserted
  }
}
"""

RUN_RESUME_STATUS = """
query RunResumeStatus($project: String, $entity: String, $name: String!) {
  model(name: $project, entityName: $entity) {
    id name
    entity { id name }
    bucket(name: $name, missingOk: true) {
      id name summaryMetrics displayName logLineCount historyLineCount
      eventsLineCount historyTail eventsTail config tags
    }
  }
}
"""

RUN_LIVENESS = """
query RunLiveness($project: String, $entity: String, $name: String!) {
  model(name: $project, entityName: $entity) {
    id
    bucket(name: $name, missingOk: true) { id name state heartbeatAt }
  }
}
"""

CREATE_RUN_FILES = """
mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(
    input: {entityName: $entity, projectName: $project, runName: $run, files: $files}
  ) {
    runID
    uploadHeaders
    files { name uploadUrl }
  }
}
"""


# --------------------------------------------------------------------------- viewer


# W&B's alert mutation (wandb/sdk/internal/internal_api.py)
NOTIFY_ALERT = """
mutation NotifyScriptableRunAlert($entityName: String!, $projectName: String!,
    $runName: String!, $title: String!, $text: String!, $severity: AlertSeverity) {
  notifyScriptableRunAlert(input: {entityName: $entityName, projectName: $projectName,
      runName: $runName, title: $title, text: $text, severity: $severity}) {
    success
  }
}
"""

# W&B's stop poll
RUN_STOPPED_STATUS = """
query RunStoppedStatus($projectName: String, $entityName: String, $runId: String!) {
  project(name: $projectName, entityName: $entityName) {
    run(name: $runId) {
      stopped
    }
  }
}
"""


def parse_stopped(data: dict[str, Any]) -> bool:
    project = (data or {}).get("project") or {}
    run = project.get("run") or {}
    return bool(run.get("stopped"))


def parse_viewer_entity(data: dict[str, Any]) -> str:
    viewer = data.get("viewer") or {}
    entity = viewer.get("entity") or viewer.get("username") or ""
    return str(entity)


# --------------------------------------------------------------------------- upsert


def upsert_variables(
    run: pb.RunRecord,
    entity: str,
    *,
    config_json: str | None = None,
    state: str | None = None,
    full: bool = True,
) -> dict[str, Any]:
    """Variables for :data:`UPSERT_BUCKET`. ``full=False`` sends only identity + given fields."""
    v: dict[str, Any] = {
        "name": run.run_id,
        "project": run.project or None,
        "entity": entity or None,
    }
    if full:
        if run.display_name:
            v["displayName"] = run.display_name
        if run.notes:
            v["notes"] = run.notes
        if run.group:
            v["groupName"] = run.group
        if run.job_type:
            v["jobType"] = run.job_type
        if run.tags:
            v["tags"] = list(run.tags)
        if run.host:
            v["host"] = run.host
        if run.program:
            v["program"] = run.program
    if config_json is not None:
        v["config"] = config_json
    if state is not None:
        v["state"] = state
    return v


@dataclass
class Bucket:
    id: str = ""
    name: str = ""
    display_name: str = ""
    project: str = ""
    entity: str = ""
    inserted: bool = False


def parse_upsert(data: dict[str, Any]) -> Bucket:
    ub = data.get("upsertBucket") or {}
    b = ub.get("bucket") or {}
    project = b.get("project") or {}
    ent = project.get("entity") or {}
    return Bucket(
        id=str(b.get("id") or ""),
        name=str(b.get("name") or ""),
        display_name=str(b.get("displayName") or ""),
        project=str(project.get("name") or ""),
        entity=str(ent.get("name") or ""),
        inserted=bool(ub.get("inserted")),
    )


# --------------------------------------------------------------------------- resume


@dataclass
class ResumeStatus:
    """What the server knows about an existing run."""

    history_line_count: int = 0
    events_line_count: int = 0
    log_line_count: int = 0
    starting_step: int = 0
    runtime_offset: float = 0.0
    display_name: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


def _loads(value: Any, default: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value else default
        except ValueError:
            return default
    return default if value is None else value


def last_step_from_tail(history_tail: Any) -> int | None:
    """The last ``_step`` in W&B's ``historyTail`` (a JSON list of row JSON strings)."""
    rows = _loads(history_tail, [])
    if not isinstance(rows, list):
        return None
    for row in reversed(rows):
        if isinstance(row, str):
            row = _loads(row, None)
        if isinstance(row, dict):
            step = row.get("_step")
            if isinstance(step, int | float) and not isinstance(step, bool) and math.isfinite(step):
                return int(step)
    return None


def parse_resume_status(data: dict[str, Any]) -> ResumeStatus | None:
    """None when the run does not exist on the server."""
    model = data.get("model") or {}
    b = model.get("bucket")
    if not b:
        return None
    hist = int(b.get("historyLineCount") or 0)
    last = last_step_from_tail(b.get("historyTail"))
    starting = last + 1 if last is not None else hist
    summary = _loads(b.get("summaryMetrics"), {})
    if not isinstance(summary, dict):
        summary = {}
    runtime = summary.get("_runtime")
    runtime_offset = (
        float(runtime)
        if isinstance(runtime, int | float)
        and not isinstance(runtime, bool)
        and math.isfinite(runtime)
        else 0.0
    )
    tags = b.get("tags") or []
    return ResumeStatus(
        history_line_count=hist,
        events_line_count=int(b.get("eventsLineCount") or 0),
        log_line_count=int(b.get("logLineCount") or 0),
        starting_step=starting,
        runtime_offset=runtime_offset,
        display_name=str(b.get("displayName") or ""),
        config=wandb_config.unwrap(b.get("config")),
        summary=summary,
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
    )


# --------------------------------------------------------------------------- files


def create_run_files_variables(
    entity: str, project: str, run_id: str, names: list[str]
) -> dict[str, Any]:
    return {"entity": entity, "project": project, "run": run_id, "files": list(names)}


def parse_create_run_files(data: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(upload headers, {file name: upload url}). W&B sends headers as "Key:Value" strings."""
    crf = data.get("createRunFiles") or {}
    headers: dict[str, str] = {}
    raw = crf.get("uploadHeaders") or []
    if isinstance(raw, dict):
        headers = {str(k): str(v) for k, v in raw.items()}
    elif isinstance(raw, list):
        for h in raw:
            if isinstance(h, str) and ":" in h:
                k, _, val = h.partition(":")
                headers[k.strip()] = val.strip()
    urls: dict[str, str] = {}
    for f in crf.get("files") or []:
        if isinstance(f, dict) and f.get("name") and f.get("uploadUrl"):
            urls[str(f["name"])] = str(f["uploadUrl"])
    return headers, urls

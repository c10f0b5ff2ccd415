"""upsertBucket, the resume-status query and file_stream, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import requests

from helpers.server import RunningServer, api, auth, gql, stream, upsert
from helpers.wait import wait_until

RESUME = """
query RunResumeStatus($project: String, $entity: String, $name: String!) {
  model(name: $project, entityName: $entity) {
    id name entity { id name }
    bucket(name: $name, missingOk: true) {
      id name summaryMetrics displayName logLineCount historyLineCount
      eventsLineCount historyTail eventsTail config tags
    }
  }
}
"""


def _entity(server: RunningServer) -> str:
    return str(gql(server, "{ viewer { entity } }")["data"]["viewer"]["entity"])


def _rows(n: int, start: int = 0) -> list[str]:
    return [json.dumps({"_step": s, "loss": 1.0 / (s + 1)}) for s in range(start, start + n)]


def test_upsert_creates_then_updates(live_server: RunningServer) -> None:
    cfg = json.dumps({"lr": {"value": 0.1, "desc": None}, "_wandb": {"value": {"m": []}}})
    first = upsert(live_server, "r1", config=cfg, displayName="first", tags=["a", "b"])
    assert first["inserted"] is True
    b = first["bucket"]
    ent = _entity(live_server)
    assert b["name"] == "r1" and b["displayName"] == "first" and b["config"] == cfg
    assert b["project"]["name"] == "proj" and b["project"]["entity"]["name"] == ent
    assert b["historyLineCount"] == 0 and b["id"]
    second = upsert(live_server, "r1", displayName="renamed")
    assert second["inserted"] is False and second["bucket"]["id"] == b["id"]
    assert second["bucket"]["config"] == cfg  # not given: kept
    run = api(live_server, f"runs/{ent}/proj/r1").json()
    assert run["name"] == "renamed" and run["config"] == {"lr": 0.1}
    assert run["tags"] == ["a", "b"] and run["state"] == "running" and run["last_step"] is None


def test_upsert_refuses_bad_names(live_server: RunningServer) -> None:
    out = gql(live_server, 'mutation { upsertBucket(input: {name: "../x"}) { inserted } }')
    assert out["data"]["upsertBucket"] is None and "invalid" in out["errors"][0]["message"]


def test_resume_status_known_and_unknown(live_server: RunningServer) -> None:
    unknown = gql(live_server, RESUME, {"project": "proj", "name": "nope"})
    assert unknown["data"]["model"]["bucket"] is None
    upsert(live_server, "r2", config=json.dumps({"a": {"value": 1}}))
    ent = _entity(live_server)
    assert (
        stream(
            live_server,
            f"{ent}/proj/r2",
            {
                "wandb-history.jsonl": (0, _rows(25)),
                "wandb-events.jsonl": (0, ['{"cpu": 1}', '{"cpu": 2}']),
                "output.log": (0, ["hello", "world", "!"]),
                "wandb-summary.json": (0, ['{"loss": 0.04, "_runtime": 12.5}']),
            },
        ).status_code
        == 200
    )
    b = gql(live_server, RESUME, {"project": "proj", "entity": ent, "name": "r2"})["data"]["model"][
        "bucket"
    ]
    assert b["historyLineCount"] == 25 and b["eventsLineCount"] == 2 and b["logLineCount"] == 3
    tail = json.loads(b["historyTail"])
    assert (
        len(tail) == 10
        and json.loads(tail[-1])["_step"] == 24
        and json.loads(tail[0])["_step"] == 15
    )
    assert [json.loads(s) for s in json.loads(b["eventsTail"])] == [{"cpu": 1}, {"cpu": 2}]
    assert json.loads(b["summaryMetrics"]) == {"loss": 0.04, "_runtime": 12.5}
    assert json.loads(b["config"]) == {"a": {"value": 1}}
    via_project = gql(live_server, '{ project(name: "proj") { run(name: "r2") { name state } } }')
    assert via_project["data"]["project"]["run"] == {"name": "r2", "state": "running"}


def test_file_stream_is_idempotent_by_offset(live_server: RunningServer) -> None:
    upsert(live_server, "r3")
    path = f"{_entity(live_server)}/proj/r3"
    rows = _rows(30)
    assert stream(live_server, path, {"wandb-history.jsonl": (0, rows[:10])}).json() == {
        "exitcode": None,
        "limits": {},
    }
    stream(live_server, path, {"wandb-history.jsonl": (0, rows[:10])})  # the same chunk again
    stream(live_server, path, {"wandb-history.jsonl": (5, rows[5:20])})  # overlapping
    stream(live_server, path, {"wandb-history.jsonl": (20, rows[20:])})
    got = api(live_server, f"runs/{path}/history").json()["rows"]
    assert [r["_step"] for r in got] == list(range(30))
    run = api(live_server, f"runs/{path}").json()
    assert run["history_line_count"] == 30 and run["last_step"] == 29
    stream(live_server, path, {"output.log": (0, ["a", "b"])})
    stream(live_server, path, {"output.log": (1, ["b", "c"]), "custom.txt": (0, ["x"])})
    assert api(live_server, f"runs/{path}/output").json()["lines"] == ["a", "b", "c"]


def test_summary_is_replaced_and_complete_sets_the_state(live_server: RunningServer) -> None:
    ent = _entity(live_server)
    for name, code, state in (("ok", 0, "finished"), ("bad", 3, "failed")):
        upsert(live_server, name)
        path = f"{ent}/proj/{name}"
        stream(live_server, path, {"wandb-summary.json": (0, ['{"a": 1, "b": 2}'])})
        stream(live_server, path, {"wandb-summary.json": (0, ['{"a": 5}'])})
        assert api(live_server, f"runs/{path}").json()["summary"] == {"a": 5}
        stream(live_server, path, {}, complete=True, exitcode=code)
        run = api(live_server, f"runs/{path}").json()
        assert (run["state"], run["exit_code"]) == (state, code)
    # a resume (upsert of a finished run) runs again; an explicit crashed state sticks
    assert upsert(live_server, "ok")["inserted"] is False
    assert api(live_server, f"runs/{ent}/proj/ok").json()["state"] == "running"
    upsert(live_server, "ok", state="crashed")
    assert api(live_server, f"runs/{ent}/proj/ok").json()["state"] == "crashed"


def test_file_stream_errors(live_server: RunningServer) -> None:
    upsert(live_server, "r4")
    path = f"{_entity(live_server)}/proj/r4"
    assert stream(live_server, f"{_entity(live_server)}/proj/missing", {}).status_code == 404
    url = f"{live_server.url}/files/{path}/file_stream"
    bad: list[Any] = [
        [1, 2],
        {"files": {"a": {"offset": -1, "content": []}}},
        {"files": {"a": {"offset": "3", "content": []}}},
        {"files": {"a": {"offset": 0, "content": "line"}}},
        {"files": {"a": {"offset": 0, "content": [1]}}},
        {"files": []},
    ]
    for body in bad:
        r = requests.post(url, json=body, auth=auth(live_server), timeout=5)
        assert r.status_code == 400, body
    r = requests.post(url, data=b"{", auth=auth(live_server), timeout=5)
    assert r.status_code == 400


def test_stale_heartbeat_reads_as_crashed(server_factory: Any) -> None:
    srv = server_factory(heartbeat_timeout=1)
    upsert(srv, "hb")
    path = f"{_entity(srv)}/proj/hb"
    assert api(srv, f"runs/{path}").json()["state"] == "running"

    def changed_state() -> str:
        state = str(api(srv, f"runs/{path}").json()["state"])
        return "" if state == "running" else state

    # running until the heartbeat is 1 s stale, then crashed (and nothing else)
    state = wait_until(changed_state, timeout=5, message="the stale run still reads as running")
    assert state == "crashed"
    q = gql(srv, '{ model(name: "proj") { bucket(name: "hb") { state } } }')
    assert q["data"]["model"]["bucket"]["state"] == "crashed"
    stream(srv, path, {})  # a heartbeat: running again
    assert api(srv, f"runs/{path}").json()["state"] == "running"


def test_wandb_config_tells_official_clients_the_run_started(live_server: RunningServer) -> None:
    """wandb-core resumes only when ``wandbConfig(keys: ["t"])`` has ``t``."""
    q = '{ model(name: "proj") { bucket(name: "w") { wandbConfig(keys: ["t"]) } } }'
    upsert(live_server, "w", config=json.dumps({"a": {"value": 1}}))
    assert json.loads(gql(live_server, q)["data"]["model"]["bucket"]["wandbConfig"]) == {}
    cfg = {"a": {"value": 1}, "_wandb": {"value": {"t": {"1": [1]}, "m": []}}}
    upsert(live_server, "w", config=json.dumps(cfg))
    got = gql(live_server, q)["data"]["model"]["bucket"]["wandbConfig"]
    assert json.loads(got) == {"t": {"1": [1]}}
    ent = gql(live_server, '{ entity(name: "x") { name isTeam organization { id } } }')
    assert ent["data"]["entity"] == {"name": "x", "isTeam": False, "organization": None}


def _seq_upsert(server: RunningServer, seq: int, **variables: Any) -> None:
    r = requests.post(f"{server.url}/graphql", auth=auth(server), timeout=10,
                      headers={"X-Nbtrack-Seq": str(seq)},
                      json={"query": UPSERT_QUERY, "variables": {"name": "ord", "project": "p",
                                                                 **variables}})
    assert r.status_code == 200 and "errors" not in r.json(), r.text


def _seq_post(server: RunningServer, seq: int, body: dict[str, Any]) -> None:
    r = requests.post(f"{server.url}/files/{_entity(server)}/p/ord/file_stream",
                      auth=auth(server), timeout=10, json=body,
                      headers={"X-Nbtrack-Seq": str(seq)})
    assert r.status_code == 200 and r.json() == {"exitcode": None, "limits": {}}


UPSERT_QUERY = """
mutation U($name: String, $project: String, $config: JSONString, $state: String) {
  upsertBucket(input: {name: $name, modelName: $project, config: $config, state: $state}) {
    bucket { id } inserted
  }
}
"""


def test_late_copies_of_older_requests_change_nothing(live_server: RunningServer) -> None:
    """X-Nbtrack-Seq over HTTP, on both backends: upsertBucket and file_stream."""
    summary = "wandb-summary.json"
    _seq_upsert(live_server, 10, config=json.dumps({"phase": {"value": "start"}}))
    _seq_upsert(live_server, 30, config=json.dumps({"phase": {"value": "new"}}))
    _seq_post(live_server, 40, {"files": {summary: {"offset": 0, "content": ['{"tag": "new"}']}}})
    _seq_post(live_server, 50, {"files": {}, "complete": True, "exitcode": 0})
    # the stale ones arrive now: a config upsert, a summary post, a "running" state
    _seq_upsert(live_server, 20, config=json.dumps({"phase": {"value": "old"}}))
    _seq_post(live_server, 35, {"files": {summary: {"offset": 0, "content": ['{"tag": "old"}']}}})
    _seq_upsert(live_server, 45, state="running")
    run = api(live_server, f"runs/{_entity(live_server)}/p/ord").json()
    assert (run["state"], run["config"]["phase"], run["summary"]["tag"]) == (
        "finished", "new", "new")
    # a resume is newer than the finish: it reopens the run
    _seq_upsert(live_server, 60, config=json.dumps({"phase": {"value": "resumed"}}))
    run = api(live_server, f"runs/{_entity(live_server)}/p/ord").json()
    assert (run["state"], run["config"]["phase"]) == ("running", "resumed")

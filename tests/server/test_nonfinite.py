"""NaN, inf and -inf logged anywhere: every JSON answer of the server is still strict JSON.

A run logged through nbtrack's own client (history, summary, config) plus a system-metrics
line streamed like any W&B client would; then every read endpoint, on ``/api/v1/`` and on
the run pages' ``/pages/api/``, is parsed with a parser that refuses ``NaN`` / ``Infinity``
(what the browser's ``JSON.parse`` does), and the values decoded from the wire strings
``"NaN"`` / ``"Infinity"`` / ``"-Infinity"`` must equal what was logged. GraphQL answers keep
W&B's shapes (JSON strings inside), but their outer body is strict JSON too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import nbtrack

from helpers.server import RunningServer, auth, gql, stream
from helpers.strictjson import decode, same, strict_loads

NAN, INF = float("nan"), float("inf")
STEPS = 100
TRICKY_KEYS = ("NaN/Infinity", 'say "NaN"', "-Infinity\\")


def logged_row(i: int) -> dict[str, Any]:
    """Row ``i`` as logged: non-finite values, strings that hold the tokens, tricky keys.
    Odd rows hold an escaped quote (the server rewrites those lines another way)."""
    special = {0: NAN, 1: INF, 2: -INF}
    notes = ['x": NaN, "y": -Infinity', "NaN is not a number"] if i % 2 else [
        "NaN is not a number", "-Infinity!"]
    row: dict[str, Any] = {
        "loss": special.get(i, 1.0 / (i + 1)),
        "acc": i / STEPS,
        "grad": [NAN, INF, -INF][i % 3] if i % 10 == 5 else float(i),
        "note": notes[i % 4 // 2],
        "vec": [1.0, NAN, INF, -INF],
    }
    for n, key in enumerate(TRICKY_KEYS):
        if '"' not in key or i % 2:
            row[key] = [NAN, INF, -INF][(i + n) % 3]
    return row


CONFIG = {"c_nan": NAN, "c_inf": INF, "c_ninf": -INF, "nested": {"x": NAN, "y": [INF, 1]},
          "label": "NaN here"}
SUMMARY = {"s_nan": NAN, "s_inf": INF, "s_ninf": -INF, "s_text": "Infinity is far"}
EVENT = {"system.gpu.0.temp": NAN, "system.cpu": INF, "system.disk": -INF, "_runtime": 1.5,
         "_timestamp": 1.7e9}


@pytest.fixture
def logged(nbtrack_dir: Path, live_server: RunningServer) -> Iterator[tuple[str, Any]]:
    """A finished run with non-finite history, summary, config and system metrics."""
    run = nbtrack.init(project="nonfinite", name="nf", mode="online", base_url=live_server.url,
                       api_key=live_server.token, config=CONFIG, console="off")
    run.define_metric("loss", summary="min,max,last")
    for i in range(STEPS):
        run.log(logged_row(i))
    run.summary.update(SUMMARY)
    run.finish(quiet=True)
    path = run.path
    events = _get(live_server, f"runs/{path}/events")
    count = len(strict_loads(events)["rows"]) if _is_strict(events) else len(events.splitlines())
    assert stream(live_server, path, {"wandb-events.jsonl": (count, [json.dumps(EVENT)])}).ok
    yield path, run


def _is_strict(body: bytes) -> bool:
    try:
        strict_loads(body)
    except ValueError:
        return False
    return True


def _get(server: RunningServer, path: str) -> bytes:
    r = requests.get(f"{server.url}/api/v1/{path}", auth=auth(server), timeout=30)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    return r.content


def _pages_getter(server: RunningServer) -> Callable[[str], bytes]:
    """GET ``/pages/api/<path>`` with the cookie of a token login (as the pages do)."""
    session = requests.Session()
    r = session.get(f"{server.url}/pages/login", params={"token": server.token},
                    allow_redirects=False, timeout=10)
    assert r.status_code == 302 and session.cookies, r.text[:300]

    def get(path: str) -> bytes:
        r = session.get(f"{server.url}/pages/api/{path}", timeout=30)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.content

    return get


def endpoints(path: str, pages: bool = False) -> list[str]:
    """Every GET of the read API that answers JSON for one run (the pages allow-list all
    but ``alerts`` and ``stop``)."""
    h = f"runs/{path}/history"
    extras = [] if pages else [f"runs/{path}/alerts", f"runs/{path}/stop"]
    return [*extras,
        "viewer", "runs", "runs?project=nonfinite", f"runs/{path}",
        h, f"{h}?keys=loss,grad", f"{h}?min_step=0&max_step=10",
        f"{h}?samples=1000", f"{h}?samples=1000&keys=loss,grad,vec",  # stored rows, downsampled
        f"{h}?samples=2", f"{h}?samples=2&keys=loss,grad",  # the precomputed min/max levels
        f"{h}?samples=3&min_step=0&max_step=99&keys=" + ",".join(TRICKY_KEYS),
        f"runs/{path}/events", f"runs/{path}/output", f"runs/{path}/files",
    ]


def check_values(path: str, answers: dict[str, Any]) -> None:
    """The decoded answers hold what was logged (NaN is NaN, inf is inf)."""
    run = decode(answers[f"runs/{path}"])
    for key, value in CONFIG.items():
        assert same(run["config"][key], value), (key, run["config"][key])
    for key, value in SUMMARY.items():
        assert same(run["summary"][key], value), (key, run["summary"][key])
    assert run["summary"]["loss"]["min"] == -INF and run["summary"]["loss"]["max"] == INF
    listed = [decode(r) for r in answers["runs"]["runs"] if r["id"] == run["id"]]
    assert len(listed) == 1 and same(listed[0]["summary"], run["summary"])
    assert same(listed[0]["config"], run["config"])

    h = f"runs/{path}/history"
    rows = decode(answers[h]["rows"])
    assert [r["_step"] for r in rows] == list(range(STEPS))
    for r in rows:
        want = logged_row(r["_step"])
        assert same({k: r[k] for k in want}, want), r
    for query, rows in answers.items():
        if not query.startswith(h + "?"):
            continue
        got = decode(rows["rows"])
        assert got, query
        for r in got:
            want = logged_row(r["_step"])
            for key in set(r) - {"_step", "_runtime", "_timestamp"}:
                assert same(r[key], want[key]), (query, r["_step"], key, r[key])
    # the min/max levels and the downsampled rows keep -inf and inf as the extremes of loss
    for query in (f"{h}?samples=2&keys=loss,grad", f"{h}?samples=1000&keys=loss,grad,vec"):
        loss = [r["loss"] for r in decode(answers[query]["rows"])
                if "loss" in r and not math.isnan(r["loss"])]
        assert min(loss) == -INF and max(loss) == INF, (query, loss)
    ranged = decode(answers[f"{h}?min_step=0&max_step=10"]["rows"])
    assert [r["_step"] for r in ranged] == list(range(11)) and math.isnan(ranged[0]["loss"])

    event = decode(answers[f"runs/{path}/events"]["rows"])[-1]
    assert same(event, EVENT), event


def test_every_read_answer_is_strict_json(logged: tuple[str, Any],
                                          live_server: RunningServer) -> None:
    path, _ = logged
    via_pages = _pages_getter(live_server)
    for name, get in (("api/v1", lambda p: _get(live_server, p)), ("pages/api", via_pages)):
        answers = {}
        for endpoint in endpoints(path, pages=name == "pages/api"):
            body = get(endpoint)
            try:
                answers[endpoint] = strict_loads(body)
            except ValueError as e:
                pytest.fail(f"{name}/{endpoint}: {e}: {body[:200]!r}")
        check_values(path, answers)


BUCKET = """
query Run($project: String, $entity: String, $name: String!) {
  model(name: $project, entityName: $entity) {
    bucket(name: $name) { config summaryMetrics historyTail eventsTail historyLineCount }
  }
}
"""


def test_graphql_body_is_strict_and_keeps_wandb_shapes(logged: tuple[str, Any],
                                                        live_server: RunningServer) -> None:
    """The official client reads config / summary / tails as JSON strings (lenient inside,
    as W&B's are): they stay so, and the body around them is strict JSON."""
    path, _ = logged
    entity, project, name = path.split("/")
    r = requests.post(f"{live_server.url}/graphql", auth=auth(live_server), timeout=30, json={
        "query": BUCKET, "variables": {"project": project, "entity": entity, "name": name}})
    assert r.status_code == 200, r.text[:300]
    bucket = strict_loads(r.content)["data"]["model"]["bucket"]
    assert bucket["historyLineCount"] == STEPS
    config = json.loads(bucket["config"])
    assert math.isnan(config["c_nan"]["value"]) and config["c_ninf"]["value"] == -INF
    summary = json.loads(bucket["summaryMetrics"])
    assert math.isnan(summary["s_nan"]) and summary["s_inf"] == INF
    tail = [json.loads(line) for line in json.loads(bucket["historyTail"])]
    assert [row["_step"] for row in tail][-1] == STEPS - 1
    assert same({k: tail[-1][k] for k in logged_row(STEPS - 1)}, logged_row(STEPS - 1))
    events = [json.loads(line) for line in json.loads(bucket["eventsTail"])]
    assert same(events[-1], EVENT)
    # the viewer answer, for completeness
    assert "errors" not in gql(live_server, "{ viewer { entity } }")

"""The GraphQL read surface of ``wandb.Api()`` over real HTTP, on SQLite and PostgreSQL.

The official client's own reads are in ``tests/compat/test_public_api.py``; this checks the
edges the client does not reach: bad filters and arguments answer an error naming the
part, download URLs refuse a wrong signature or a path out of the run, and a cursor
continues a listing after a run was added in between.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import requests

from helpers.server import RunningServer, auth, gql, stream, upsert

RUNS = """
query Runs($entity: String!, $filters: JSONString, $order: String, $first: Int,
           $cursor: String) {
  project(name: "proj", entityName: $entity) {
    internalId
    runCount(filters: $filters)
    runs(filters: $filters, order: $order, first: $first, after: $cursor) {
      edges { node { name projectId ...F } cursor }
      pageInfo { endCursor hasNextPage }
    }
  }
}
fragment F on Run { displayName tags state }
"""

RUN = """
query Run($entity: String!, $name: String!, $spec: JSONString!) {
  project(name: "proj", entityName: $entity) {
    run(name: $name) {
      id projectId readOnly commit historyKeys fileCount systemMetrics
      page: history(minStep: 5, maxStep: 10, samples: 5)
      few: history(samples: 5)
      sampledHistory(specs: [$spec])
      parquetHistory(liveKeys: ["_step"]) { parquetUrls liveData }
      files(first: 10) { edges { node { name sizeBytes url md5 } } }
    }
  }
}
"""


def _entity(server: RunningServer) -> str:
    return str(gql(server, "{ viewer { entity } }")["data"]["viewer"]["entity"])


def _runs(server: RunningServer, **variables: Any) -> dict[str, Any]:
    return gql(server, RUNS, {"entity": _entity(server), **variables})


def _error(answer: dict[str, Any]) -> str:
    assert answer.get("errors"), answer
    return " | ".join(e["message"] for e in answer["errors"])


def test_public_api_reads_and_refuses(live_server: RunningServer) -> None:
    srv, ent = live_server, _entity(live_server)
    for name, lr, tags in (("r1", 0.1, ["a"]), ("r2", 0.01, ["b"]), ("r3", 0.5, ["a", "c"])):
        upsert(srv, name, config=json.dumps({"lr": {"value": lr}}), tags=tags,
               displayName=f"run-{name}")
    upsert(srv, "o1", project="other")
    rows = [json.dumps({"_step": s, "loss": 1.0 / (s + 1), **({"acc": s} if s % 2 else {})})
            for s in range(25)]
    assert stream(srv, f"{ent}/proj/r1", {"wandb-history.jsonl": (0, rows)}).status_code == 200

    # projects, and one project id for all runs of a project
    models = gql(srv, "query($e: String) { models(entityName: $e) { edges { node { name } } } }",
                 {"e": ent})
    assert [e["node"]["name"] for e in models["data"]["models"]["edges"]] == ["other", "proj"]

    # a filter, an order, and a cursor that survives a run added between two pages
    flt = json.dumps({"config.lr": {"$gt": 0.05}})
    first = _runs(srv, filters=flt, order="-config.lr", first=1)
    proj = first["data"]["project"]
    assert "errors" not in first and proj["runCount"] == 2
    assert [e["node"]["name"] for e in proj["runs"]["edges"]] == ["r3"]
    assert proj["runs"]["pageInfo"]["hasNextPage"] is True
    assert proj["runs"]["edges"][0]["node"]["projectId"] == int(proj["internalId"])
    upsert(srv, "r4", config=json.dumps({"lr": {"value": 0.9}}))  # sorts before the cursor
    rest = _runs(srv, filters=flt, order="-config.lr", first=10,
                 cursor=proj["runs"]["pageInfo"]["endCursor"])["data"]["project"]
    assert [e["node"]["name"] for e in rest["runs"]["edges"]] == ["r1"]
    assert rest["runs"]["pageInfo"]["hasNextPage"] is False and rest["runCount"] == 3
    upsert(srv, "r2", config=json.dumps({"lr": {"value": 0.2}}))  # a kept listing is renewed
    assert _runs(srv, filters=flt)["data"]["project"]["runCount"] == 4
    upsert(srv, "r2", config=json.dumps({"lr": {"value": 0.01}}))
    for filters, count in (({"config.lr": {"$not": {"$gt": 0.05}}}, 1),  # r2
                           ({"tags": {"$all": ["a", "c"]}}, 1),  # r3
                           ({"config.lr": {"$gt": "a"}}, 0),  # kinds never compare
                           ({"heartbeatAt": {"$gt": "2000-01-01T00:00:00Z"}}, 4)):
        got = _runs(srv, filters=json.dumps(filters))
        assert got["data"]["project"]["runCount"] == count, (filters, got)

    # a run's history, keys, files
    files = gql(srv, 'mutation { createRunFiles(input: {projectName: "proj", runName: "r1", '
                     'files: ["d/blob.bin"]}) { files { uploadUrl } } }')
    body = bytes(range(256)) * 3
    put = requests.put(files["data"]["createRunFiles"]["files"][0]["uploadUrl"], data=body,
                       timeout=10)
    assert put.status_code == 200
    spec = json.dumps({"keys": ["acc"], "samples": 3})
    run = gql(srv, RUN, {"entity": ent, "name": "r1", "spec": spec})
    assert "errors" not in run, run
    r = run["data"]["project"]["run"]
    assert [json.loads(x)["_step"] for x in r["page"]] == [5, 6, 7, 8, 9]  # maxStep exclusive
    few = [json.loads(x)["_step"] for x in r["few"]]
    assert len(few) == 5 and few[0] == 0 and few[-1] == 24
    assert r["historyKeys"]["lastStep"] == 24
    assert r["historyKeys"]["keys"]["acc"]["typeCounts"] == [{"type": "number", "count": 12}]
    assert r["sampledHistory"] == [[{"acc": 1}, {"acc": 13}, {"acc": 23}]]
    assert r["parquetHistory"] == {"parquetUrls": [], "liveData": [{"_step": 0}]}
    assert (r["readOnly"], r["commit"], r["fileCount"], r["systemMetrics"]) == (
        False, None, 1, "{}")
    upsert(srv, "skew")  # 40 rows at steps 0..39 and one at 10**9
    skew = [json.dumps({"_step": s}) for s in [*range(40), 10**9]]
    assert stream(srv, f"{ent}/proj/skew", {"wandb-history.jsonl": (0, skew)}).status_code == 200
    few_q = ('query($e: String!) { project(name: "proj", entityName: $e) '
             '{ run(name: "skew") { history(samples: 10) } } }')
    got = gql(srv, few_q, {"e": ent})["data"]["project"]["run"]["history"]
    steps = [json.loads(x)["_step"] for x in got]
    assert len(steps) == 10 and steps[0] == 0 and steps[-1] == 10**9, steps
    more = [json.dumps({"_step": s, "acc": s}) for s in range(25, 30)]
    assert stream(srv, f"{ent}/proj/r1", {"wandb-history.jsonl": (25, more)}).status_code == 200
    keys = gql(srv, RUN, {"entity": ent, "name": "r1", "spec": spec})["data"]["project"]["run"]
    assert keys["historyKeys"]["lastStep"] == 29  # counted on from where it stopped
    assert keys["historyKeys"]["keys"]["acc"]["typeCounts"] == [{"type": "number", "count": 17}]
    assert keys["historyKeys"]["keys"]["loss"]["typeCounts"] == [{"type": "number", "count": 25}]
    pq = ('query($e: String!, $p: String) { project(name: "proj", entityName: $e) '
          '{ run(name: "r1") { files(pattern: $p) { edges { node { name } } } } } }')
    for pattern, names in (("d/%.bin", ["d/blob.bin"]), ("d/bl_b.bin", ["d/blob.bin"]),
                           ("%.txt", []), ("D/%", []), ("%" * 40 + "x", [])):
        got = gql(srv, pq, {"e": ent, "p": pattern})["data"]["project"]["run"]["files"]
        assert [e["node"]["name"] for e in got["edges"]] == names, pattern
    node = r["files"]["edges"][0]["node"]
    assert (node["name"], node["sizeBytes"]) == ("d/blob.bin", len(body))
    assert requests.get(node["url"], timeout=10).content == body  # signed: no credentials

    # console lines: pages by cursor, the tail, stderr as "error"
    out_lines = ["2026-01-02T03:04:05.000001 one", "ERROR 2026-01-02T03:04:06.000002 two",
                 "three"]
    assert stream(srv, f"{ent}/proj/r1", {"output.log": (0, out_lines)}).status_code == 200
    logq = ('query($e: String!, $a: String) { project(name: "proj", entityName: $e) '
            '{ run(name: "r1") { logLines(first: 2, after: $a) { edges { node '
            '{ number timestamp level line } } pageInfo { endCursor hasNextPage } } '
            'tail: logLines(last: 1) { edges { node { number line } } } } } }')
    page = gql(srv, logq, {"e": ent})["data"]["project"]["run"]
    assert [e["node"] for e in page["logLines"]["edges"]] == [
        {"number": 0, "timestamp": "2026-01-02T03:04:05.000001Z", "level": "info",
         "line": "one"},
        {"number": 1, "timestamp": "2026-01-02T03:04:06.000002Z", "level": "error",
         "line": "two"}]
    assert page["tail"]["edges"] == [{"node": {"number": 2, "line": "three"}}]
    cur = page["logLines"]["pageInfo"]
    assert cur["hasNextPage"] is True
    nxt = gql(srv, logq, {"e": ent, "a": cur["endCursor"]})["data"]["project"]["run"]
    assert [e["node"]["line"] for e in nxt["logLines"]["edges"]] == ["three"]
    assert nxt["logLines"]["pageInfo"]["hasNextPage"] is False

    # download URLs: a wrong or missing signature is refused, a path cannot leave the run
    url = urllib.parse.urlsplit(node["url"])
    bad = node["url"].replace("get=", "get=0")
    assert requests.get(bad, timeout=10).status_code == 403
    bare = f"{srv.url}{url.path}"
    assert requests.get(bare, timeout=10).status_code == 403
    assert requests.get(bare, auth=auth(srv), timeout=10).content == body
    out = requests.get(f"{srv.url}/storage/{ent}/proj/r1/..%2F..%2Fserver%2Fstate.json",
                       auth=auth(srv), timeout=10)
    assert out.status_code == 400

    # run.update(): by the run's id; the state of a finished run stays
    run_id = r["id"]
    assert stream(srv, f"{ent}/proj/r2", {}, complete=True, exitcode=0).status_code == 200
    r2 = gql(srv, 'query($e: String!) { project(name: "proj", entityName: $e) '
                  '{ run(name: "r2") { id } } }', {"e": ent})["data"]["project"]["run"]["id"]
    upd = gql(srv, "mutation($id: String!) { upsertBucket(input: {id: $id, tags: [\"x\"], "
                   "notes: \"n\"}) { bucket { name tags notes state } } }", {"id": r2})
    assert upd["data"]["upsertBucket"]["bucket"] == {"name": "r2", "tags": ["x"], "notes": "n",
                                                     "state": "finished"}
    assert run_id != r2
    ghost = gql(srv, 'mutation { upsertBucket(input: {id: "UnVuOnYxOm5vOnByb2o6eA=="}) '
                     "{ bucket { name } } }")
    assert "no run with id" in _error(ghost)

    # bad input: an error naming the part, never a silent empty answer
    for filters, names in (
        ({"config.lr": {"$foo": 1}}, "'$foo'"),
        ({"bogus": 1}, "'bogus'"),
        ({"display_name": {"$regex": "("}}, "invalid $regex"),
        ({"tags": {"$in": "a"}}, "$in needs a list"),
        ({"$or": []}, "$or needs a non-empty list"),
        ({"$and": [{"state": "x"}] * 2000}, "more than 1000 parts"),
        (json.loads('{"$or": [' * 40 + '{"state": "x"}' + ']}' * 40), "deeper than 32"),
    ):
        assert names in _error(_runs(srv, filters=json.dumps(filters))), filters
    assert "not valid JSON" in _error(_runs(srv, filters="{nope"))
    assert "not valid JSON" in _error(_runs(srv, filters="[" * 100_000))
    assert "first must be 1 to 1000" in _error(_runs(srv, first=5000))
    assert "'nosuch'" in _error(_runs(srv, order="-nosuch"))
    for cursor in ("bm9wZQ==", "WzAsIDEsICJ4IiwgM10=", "WzAsIDEsIDAuNV0="):  # nope, [0,1,"x",3]
        assert "invalid cursor" in _error(_runs(srv, cursor=cursor)), cursor
    unknown = gql(srv, 'query($e: String!) { project(name: "proj", entityName: $e) '
                       '{ run(name: "r1") { name nosuchField } } }', {"e": ent})
    assert "nosuchField" in _error(unknown)
    assert "samples: at most" in _error(gql(
        srv, 'query($e: String!) { project(name: "proj", entityName: $e) '
             '{ run(name: "r1") { history(samples: 100000000) } } }', {"e": ent}))

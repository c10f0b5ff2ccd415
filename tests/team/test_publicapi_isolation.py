"""The public-API reads on a team server: a key reads only its own entity and its teams'."""

from __future__ import annotations

import requests

from . import test_isolation
from .test_isolation import UPSERT, Team

team = test_isolation.team  # the team server fixture (alice, carol in research; bob)

RUNS = """query($entity: String!) { project(name: "p", entityName: $entity) {
  runCount runs { edges { node { id name } } } } }"""
MODELS = """query($entity: String) { models(entityName: $entity) { edges { node { name } } } }"""
UPDATE = """mutation($id: String!) { upsertBucket(input: {id: $id, tags: ["x"]}) {
  bucket { tags } } }"""


def test_public_api_reads_stay_inside_the_callers_entities(team: Team) -> None:
    assert team.post("alice", UPSERT, name="r1").status_code == 200
    mine = team.post("alice", RUNS, entity="alice").json()
    assert mine["data"]["project"]["runCount"] == 1, mine
    run_id = mine["data"]["project"]["runs"]["edges"][0]["node"]["id"]
    assert team.post("alice", MODELS).json()["data"]["models"]["edges"] == [
        {"node": {"name": "p"}}]
    keys = team.post("alice", "{ viewer { apiKeys { edges { node { id } } } } }").json()
    assert keys["data"]["viewer"]["apiKeys"]["edges"] == [
        {"node": {"id": team.key_ids["alice"]}}]  # the id only, never the key
    assert team.keys["alice"] not in str(keys)

    # bob: the same queries on alice's entity are refused, and his own listing is empty
    for query, variables in ((RUNS, {"entity": "alice"}), (MODELS, {"entity": "alice"}),
                             (UPDATE, {"id": run_id})):
        r = team.post("bob", query, **variables)
        assert r.status_code == 403, r.text
        assert r.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert team.post("bob", MODELS).json()["data"]["models"]["edges"] == []
    get = requests.get(f"{team.server.url}/storage/alice/p/r1/x.txt",
                       auth=("api", team.keys["bob"]), timeout=10)
    assert get.status_code == 403
    tags = team.post("alice", "{ project(name: \"p\") { run(name: \"r1\") { tags } } }").json()
    assert tags["data"]["project"]["run"]["tags"] == []  # bob's update did not land

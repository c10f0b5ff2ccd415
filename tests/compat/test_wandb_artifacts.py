"""The official ``wandb`` client's artifacts against nbtrack's server (``docs/artifacts.md``):
versions of a 100-file directory downloaded byte-exact, only the changed file uploaded
again, aliases, ``log_code`` and run tables, lineage through ``wandb.Api()``, bad names and
missing aliases, two runs committing one name at once (on SQLite and PostgreSQL), and an
offline run's artifact sent by ``wandb sync`` twice (one version).

The module has a server of its own (its ``wandb.Api()`` reads stay out of the suite server's
log, which ``test_wandb_client.py`` compares with the logging operations documented); what
the client sent here is checked against ``docs/compatibility.md`` the same way."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import Result, WandbClient, captured
from .venvs import Venv
from helpers.postgres import PostgresCluster, postgres_cluster  # noqa: F401  (fixture)
from helpers.server import RunningServer, api, start_server

PROJECT = "wandb-artifacts"
RACE_PROJECT = "wandb-artifacts-race"
DOC = Path(__file__).parents[2] / "docs" / "compatibility.md"


@pytest.fixture(scope="module")
def artifact_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    srv = start_server(tmp_path_factory.mktemp("artifact-server"), log_level="DEBUG")
    yield srv
    srv.stop()


@pytest.fixture
def client(wandb_venv: Venv, artifact_server: RunningServer, tmp_path: Path) -> WandbClient:
    home = tmp_path / "wandb-home"
    home.mkdir()
    return WandbClient(wandb_venv, artifact_server, home)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _result(res: Result) -> dict[str, Any]:
    return dict(json.loads(res.lines("RESULT")[-1]))


def test_versions_code_tables_and_lineage(client: WandbClient, tmp_path: Path) -> None:
    wandb_client = client
    data = wandb_client.home / "dataset"
    data.mkdir()
    for i in range(100):
        (data / f"f{i:03d}.txt").write_bytes(f"file {i}\n".encode() * (i + 1))
    v0_files = _tree(data)
    logged = _result(wandb_client.script("wandb_artifacts.py", "log", PROJECT, data,
                                         "my-dataset"))
    assert logged["versions"] == ["v0", "v1"]
    assert "invalid artifactCollectionName 'bad..name': it holds '..'" in logged["refused"]
    v1_files = _tree(data)
    assert v1_files["f000.txt"] == b"changed\n" and v1_files != v0_files
    table = f"run-{logged['id']}-table:v0"
    out = tmp_path / "downloads"
    used = _result(wandb_client.script(  # its own cache: every byte comes from the server
        "wandb_artifacts.py", "use", PROJECT, "my-dataset", out, f"{logged['code']}:v0",
        table, WANDB_CACHE_DIR=str(tmp_path / "fresh-cache")))

    assert _tree(out / "v0") == v0_files
    assert _tree(out / "v1") == v1_files
    assert _tree(out / "latest") == v1_files
    got = used["got"]
    assert got["latest"]["version"] == "v1" and "latest" in got["v1"]["aliases"]
    assert "latest" not in got["v0"]["aliases"] and "first" in got["v0"]["aliases"]

    code = used["extras"][f"{logged['code']}:v0"]
    assert code["type"] == "code"
    assert _tree(Path(code["path"])) == {"train.py": b"print('training')\n"}
    tab = used["extras"][table]
    assert tab["type"] == "run_table"
    cells = json.loads(next(iter(_tree(Path(tab["path"])).values())))
    assert cells["columns"] == ["a", "b"] and cells["data"] == [[1, "x"], [2, "y"]]

    assert used["logged_by"] == logged["id"]
    assert used["used_by"] == [used["id"]]
    assert "not found" in used["errors"]["missing"]
    assert "invalid artifact name 'bad..name'" in used["errors"]["invalid"]
    assert used["gold"] == ["v0", "the first"]  # addAliases, updateArtifact
    assert "not found" in used["errors"]["gold_removed"]  # deleteAliases
    assert used["linked"] == ["my-dataset-portfolio:prod", "v0", "v1", "my-dataset:v1"]
    code_v0, table_v0 = f"{logged['code']}:v0", table
    assert used["runs"]["logger"] == {
        "logged": sorted(["my-dataset:v0", "my-dataset:v1", code_v0, table_v0]), "used": []}
    assert used["runs"]["user"] == {"logged": [], "used": ["my-dataset:v0", "my-dataset:v1"]}

    srv = wandb_client.server
    entity = logged["entity"]
    mine = api(srv, f"runs/{entity}/{PROJECT}/{logged['id']}/artifacts").json()["logged"]
    by_name = {a["name"]: a for a in mine}
    assert {"my-dataset:v0", "my-dataset:v1", f"{logged['code']}:v0", table} <= set(by_name)
    v0, v1 = by_name["my-dataset:v0"], by_name["my-dataset:v1"]
    assert v0["file_count"] == v1["file_count"] == 100
    assert v0["received_bytes"] == sum(len(b) for b in v0_files.values())
    assert v1["received_bytes"] == len(b"changed\n")  # the 99 others were held already
    usage = api(srv, f"runs/{entity}/{PROJECT}/{used['id']}/artifacts").json()["used"]
    assert {a["name"] for a in usage} >= {"my-dataset:v0", "my-dataset:v1"}
    seen = captured(srv)
    assert seen["unknown"] == []
    bad = {k: v for k, v in seen["endpoints"].items() if any(s >= 400 for s in v)}
    assert not bad, f"the server answered the official client with errors: {bad}"
    doc = DOC.read_text()
    undocumented = [op for op in seen["operations"]
                    if f"`{op}`" not in doc and f"`{op.split(' ', 1)[1]}`" not in doc]
    assert undocumented == [], f"not in {DOC.name}: {undocumented}"
    assert {e for e in seen["endpoints"] if "/artifact-storage/" in e} == {
        "PUT /artifact-storage/<entity>/blobs/<md5> (signed)",
        "PUT /artifact-storage/<entity>/manifests/<id> (signed)",
        "GET /artifact-storage/<entity>/blobs/<md5> (signed)"}
    assert all(f"`{e}`" in doc for e in seen["endpoints"] if "/artifact-storage/" in e)


_SAVE_STEP = re.compile(r"graphql mutation (CreateArtifact|CommitArtifact):")


def _race(client: WandbClient, tmp_path: Path) -> list[str]:
    """Two runs log the same artifact name (different content) at the same moment; their
    saves overlap (both created before either commits: the server log says so)."""
    log = client.server.dir / "server" / "test-server.log"
    before = log.stat().st_size
    results: dict[str, Result] = {}
    gate = tmp_path / "race-gate"  # each run waits after init until both are there
    gate.mkdir()

    def racer(tag: str) -> None:
        home = tmp_path / f"home-{tag}"
        home.mkdir()
        results[tag] = WandbClient(client.venv, client.server, home).script(
            "wandb_artifacts.py", "race", RACE_PROJECT, "raced", tag, RACE_DIR=str(gate),
            RACE_N="2")

    threads = [threading.Thread(target=racer, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    with open(log, "rb") as f:
        f.seek(before)
        steps = _SAVE_STEP.findall(f.read().decode(errors="replace"))
    assert steps[:2] == ["CreateArtifact", "CreateArtifact"], f"the saves did not overlap: {steps}"
    return sorted(_result(r)["version"] for r in results.values())


def test_two_runs_committing_one_name_get_distinct_versions_sqlite(
        client: WandbClient, tmp_path: Path) -> None:
    assert _race(client, tmp_path) == ["v0", "v1"]


@pytest.fixture
def postgres_server(postgres_cluster: PostgresCluster,  # noqa: F811
                    tmp_path: Path) -> Any:
    srv = start_server(tmp_path / "pg-server", db=postgres_cluster.create_database(),
                       log_level="DEBUG")
    yield srv
    srv.stop()


def test_two_runs_committing_one_name_get_distinct_versions_postgres(
        client: WandbClient, postgres_server: RunningServer, tmp_path: Path) -> None:
    on_pg = WandbClient(client.venv, postgres_server, client.home)
    assert _race(on_pg, tmp_path) == ["v0", "v1"]
    entity = requests.get(f"{postgres_server.url}/api/v1/viewer", auth=postgres_server.auth,
                          timeout=10).json()["entity"]
    runs = api(postgres_server, "runs", entity=entity, project=RACE_PROJECT).json()["runs"]
    logged = [a["name"] for r in runs for a in api(
        postgres_server, f"runs/{entity}/{RACE_PROJECT}/{r['id']}/artifacts").json()["logged"]]
    assert sorted(logged) == ["raced:v0", "raced:v1"]


def test_an_offline_artifact_synced_twice_is_one_version(client: WandbClient) -> None:
    out = _result(client.script("wandb_artifacts.py", "offline", PROJECT, "offline-ds",
                                WANDB_MODE="offline"))
    run_dirs = list((client.home / "wandb").glob(f"offline-run-*-{out['id']}"))
    assert len(run_dirs) == 1
    wandb = str(client.venv.bin("wandb"))
    log = client.server.dir / "server" / "test-server.log"
    before = log.stat().st_size
    for extra in ([], ["--no-skip-synced"]):  # the second sync sends everything again
        res = client.run([wandb, "sync", *extra, str(run_dirs[0])])
        assert res.returncode == 0, res.stdout + res.stderr
    with open(log, "rb") as f:
        f.seek(before)
        steps = _SAVE_STEP.findall(f.read().decode(errors="replace"))
    # the first sync creates and commits; the second's createArtifact finds the same digest
    # committed (W&B's deduplication) and the client stops there
    assert steps == ["CreateArtifact", "CommitArtifact", "CreateArtifact"], steps
    entity = requests.get(f"{client.server.url}/api/v1/viewer", auth=client.server.auth,
                          timeout=10).json()["entity"]
    logged = api(client.server, f"runs/{entity}/{PROJECT}/{out['id']}/artifacts").json()
    assert [(a["name"], a["file_count"]) for a in logged["logged"]] == [("offline-ds:v0", 5)]

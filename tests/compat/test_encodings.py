"""What nbtrack's client sends equals what the official client sends, field by field.

The same calls (``scripts/encodings.py::calls``: config, ``define_metric`` six times, five
rows, ``config.update``, a summary write) are logged by wandb (online to nbtrack's server,
and offline, its ``.wandb`` log read with wandb's own protos) and by nbtrack (to the same
server). Compared: the stored config, summary, history (without ``_runtime`` /
``_timestamp``), the metric definitions (W&B's ``_wandb.m`` encoding, decoded) and the
``_wandb`` block's client fields.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

import nbtrack
from nbtrack.wire.config import unwrap, wandb_block
from nbtrack.wire.metrics import decode

from .conftest import SCRIPTS, WandbClient
from helpers.server import RunningServer, start_server

_spec = importlib.util.spec_from_file_location("encodings_calls", SCRIPTS / "encodings.py")
assert _spec is not None and _spec.loader is not None
calls_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(calls_module)

VOLATILE = {"_runtime", "_timestamp", "_wandb"}


def _bucket(server: RunningServer, entity: str, project: str, name: str) -> dict[str, Any]:
    """The run as W&B's GraphQL answers it: config and summary as stored, ``_wandb`` kept."""
    query = ("query Q($p: String, $e: String, $n: String!) { model(name: $p, entityName: $e)"
             " { bucket(name: $n) { config summaryMetrics } } }")
    r = requests.post(f"{server.url}/graphql", auth=server.auth, timeout=30, json={
        "query": query, "variables": {"p": project, "e": entity, "n": name}})
    r.raise_for_status()
    bucket = r.json()["data"]["model"]["bucket"]
    return {"config": json.loads(bucket["config"]), "summary": json.loads(
        bucket["summaryMetrics"])}


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


@pytest.fixture(scope="module")
def enc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of its own: the suite's server lists every GraphQL operation it saw as the
    official client's (test_wandb_client.py), and this test's reads are not."""
    srv = start_server(tmp_path_factory.mktemp("encodings-server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def logged(wandb_venv: Any, enc_server: RunningServer,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    wandb_server = enc_server
    home = tmp_path_factory.mktemp("encodings-home")
    client = WandbClient(wandb_venv, wandb_server, home)
    res = client.script("encodings.py", "enc", "enc-wandb")
    records = json.loads(res.lines("RECORDS")[-1])
    run = nbtrack.init(project="enc", id="enc-nbtrack", config=dict(calls_module.CONFIG),
                       mode="online", base_url=wandb_server.url, api_key=wandb_server.token,
                       console="off")
    calls_module.calls(run)
    run.finish()
    api = nbtrack.Api(wandb_server.url, wandb_server.token)
    entity = api.viewer()["entity"]
    out: dict[str, Any] = {"records": records}
    for who in ("wandb", "nbtrack"):
        out[who] = {**_bucket(wandb_server, entity, "enc", f"enc-{who}"),
                    "history": api.run(f"{entity}/enc/enc-{who}").history()}
    return out


def test_config_summary_and_history_equal(logged: dict[str, Any]) -> None:
    wb, nb, rec = logged["wandb"], logged["nbtrack"], logged["records"]
    want = {**calls_module.CONFIG, "later": {"deep": 1}}
    assert unwrap(wb["config"]) == unwrap(nb["config"]) == want
    assert {k: v for k, v in rec["config"].items() if k != "_wandb"} == want
    assert _plain(nb["history"]) == _plain(wb["history"]) == _plain(rec["history"])
    assert len(nb["history"]) == calls_module.STEPS
    strip = {k: v for k, v in wb["summary"].items() if k not in VOLATILE}
    assert {k: v for k, v in nb["summary"].items() if k not in VOLATILE} == strip
    assert {k: v for k, v in rec["summary"].items()
            if k not in VOLATILE and not k.startswith("_wandb")} == strip
    assert strip["acc"] == {"max": 0.8, "last": 0.8} and "m" not in strip  # merged; none


def test_metric_definitions_equal_in_wandbs_encoding(logged: dict[str, Any]) -> None:
    wb = wandb_block(logged["wandb"]["config"])["m"]
    nb = wandb_block(logged["nbtrack"]["config"])["m"]
    assert all(set(r) <= {"1", "2", "5", "6", "7", "8"} for r in nb), nb  # field numbers
    assert decode(nb) == decode(wb)
    assert len(nb) == len(wb) == 5  # one record per name: the two "acc" calls merged
    for name, d in logged["records"]["metrics"].items():  # the client's own records
        got = decode(nb)[name]
        assert (got["step_metric"], got["summary"], got["hidden"]) == (
            d["step_metric"], d["summary"], d["hidden"]), name


def test_the_wandb_block_carries_the_same_client_fields(logged: dict[str, Any]) -> None:
    wb = wandb_block(logged["wandb"]["config"])
    nb = wandb_block(logged["nbtrack"]["config"])
    assert {"cli_version", "python_version", "t", "m"} <= set(nb) <= set(wb) | {
        "is_jupyter_run"}
    assert set(nb["t"]) <= set(wb["t"]) and {"4", "5", "13"} <= set(nb["t"])
    assert nb["python_version"] == nb["t"]["4"] and wb["python_version"] == wb["t"]["4"]
    assert nb["cli_version"] == nb["t"]["5"] == nbtrack.__version__
    tele = logged["records"]["telemetry"]
    assert nb["t"]["13"] == wb["t"]["13"] == tele["platform"]
    assert nb["t"]["4"] == tele["python_version"]  # one interpreter on this machine

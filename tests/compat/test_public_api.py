"""``wandb.Api()`` (the official client, its own venv) reading nbtrack's server.

One module-scoped set of runs: the four runs of ``scripts/public_api.py`` logged once by the
official client (project ``pubapi-wb``) and once by nbtrack's client (``pubapi-nb``), then
ONE read script does every read for both projects; each test checks one part of its
answer. What each run holds is known here (``RUNS``), so the expected answers are computed
from the logged data, not taken from the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import SCRIPTS, WandbClient, captured
from .scripts.public_api import FILTERS, RUNS, rows
from helpers.server import RunningServer, start_server

PROJECTS = ("pubapi-wb", "pubapi-nb")
DOC = Path(__file__).parents[2] / "docs" / "compatibility.md"
BY_ID = {r["id"]: r for r in RUNS}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server of this module's own: its log must hold only this module's operations."""
    srv = start_server(tmp_path_factory.mktemp("public-api-server"), log_level="DEBUG")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def answer(wandb_venv: Any, server: RunningServer,
           tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    wandb_server = server
    home = tmp_path_factory.mktemp("public-api")
    blob = home / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 64 + os.urandom(4096) + b"\x00\r\n")
    client = WandbClient(wandb_venv, wandb_server, home)
    client.script("public_api.py", "log", "wandb", wandb_server.url, wandb_server.token,
                  PROJECTS[0], blob)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "WANDB_"))}
    env["NBTRACK_DIR"] = str(home / "nbtrack")
    nb = subprocess.run([sys.executable, str(SCRIPTS / "public_api.py"), "log", "nbtrack",
                         wandb_server.url, wandb_server.token, PROJECTS[1], str(blob)],
                        env=env, capture_output=True, text=True, timeout=180, check=False)
    assert nb.returncode == 0, nb.stdout[-3000:] + nb.stderr[-5000:]
    dl = home / "downloads"
    dl.mkdir()
    res = client.script("public_api.py", "read", *PROJECTS, "--blob", blob, "--dl", dl)
    out = dict(json.loads(res.lines("RESULT")[-1]))
    out["blob_sha256"] = hashlib.sha256(blob.read_bytes()).hexdigest()
    out["blob_size"] = blob.stat().st_size
    (Path(str(tmp_path_factory.getbasetemp())) / "public-api.json").write_text(
        json.dumps(out, indent=1))
    return out


def _cfg(run: dict[str, Any], path: str) -> Any:
    v: Any = run["config"]
    for p in path.split("."):
        v = v.get(p) if isinstance(v, dict) else None
    return v


def _expected(label: str) -> list[str]:
    """Which of RUNS each filter of the script must match, from the logged data."""
    state = {i: "failed" if r["exit"] else "finished" for i, r in BY_ID.items()}
    layers = {i: _cfg(r, "model.layers") for i, r in BY_ID.items()}
    lr = {i: r["config"]["lr"] for i, r in BY_ID.items()}
    pick = {
        "eq": lambda i, r: lr[i] == 0.01,
        "eq_value_path": lambda i, r: lr[i] == 0.001,
        "gt": lambda i, r: lr[i] > 0.005,
        "gte": lambda i, r: (r["config"].get("batch") or 0) >= 64,
        "lt": lambda i, r: lr[i] < 0.05,
        "lte": lambda i, r: lr[i] <= 0.05,
        "ne": lambda i, r: r["config"].get("opt") != "adam",
        "nested": lambda i, r: layers[i] == 2,
        "exists_false": lambda i, r: "batch" not in r["config"],
        "exists_true": lambda i, r: "batch" in r["config"],
        "in_tags": lambda i, r: "a" in r["tags"],
        "nin_tags": lambda i, r: "a" not in r["tags"],
        "in_config": lambda i, r: r["config"].get("opt") in ("sgd", "rmsprop"),
        "regex_display_name": lambda i, r: r["name"].startswith(("alpha", "gamma")),
        "regex_displayName": lambda i, r: r["name"].endswith(("a-3", "a-4")),
        "state": lambda i, r: state[i] == "failed",
        "state_finished": lambda i, r: state[i] == "finished",
        "name": lambda i, r: i == "r-b",
        "summary_lt": lambda i, r: r["loss"] is not None and r["loss"] < 0.6,
        "summary_exists": lambda i, r: r["loss"] is None,
        "or": lambda i, r: i == "r-b" or layers[i] == 4,
        "and": lambda i, r: "a" in r["tags"] and state[i] == "finished",
        "nor": lambda i, r: not ("a" in r["tags"] or state[i] == "failed"),
        "createdAt_gt": lambda i, r: [x["id"] for x in RUNS].index(i) > 1,  # logged after r-b
    }[label]
    return sorted(i for i, r in BY_ID.items() if pick(i, r))


@pytest.mark.parametrize("project", PROJECTS)
def test_runs_with_each_filter_kind_match_exactly(answer: dict[str, Any], project: str) -> None:
    got = answer["project"][project]["filters"]
    assert set(got) == {*FILTERS, "createdAt_gt"}
    for label, ids in got.items():
        assert ids == _expected(label), (label, ids)
    # every filter matched something and missed something: none is vacuous
    assert all(0 < len(ids) < len(RUNS) for ids in got.values()), got


@pytest.mark.parametrize("project", PROJECTS)
def test_order_paging_and_len(answer: dict[str, Any], project: str) -> None:
    p = answer["project"][project]
    created = [r["id"] for r in RUNS]
    by_loss = sorted((r for r in RUNS if r["loss"] is not None), key=lambda r: r["loss"])
    no_loss = [r["id"] for r in RUNS if r["loss"] is None]
    by_lr = [r["id"] for r in sorted(RUNS, key=lambda r: r["config"]["lr"])]
    assert p["orders"] == {
        "+created_at": created,
        "-created_at": created[::-1],
        "+summary_metrics.loss": [r["id"] for r in by_loss] + no_loss,  # missing: last
        "-summary_metrics.loss": [r["id"] for r in by_loss[::-1]] + no_loss,
        "+config.lr": by_lr,
        "-config.lr.value": by_lr[::-1],
        "display_name": [r["id"] for r in sorted(RUNS, key=lambda r: r["name"])],
    }
    assert p["paged"] == created  # per_page=2: two pages, by cursor
    assert p["len_all"] == len(RUNS)
    assert p["len_tag_a"] == len(_expected("in_tags"))
    assert p["lazy_config"] == BY_ID["r-b"]["config"]


@pytest.mark.parametrize("project", PROJECTS)
def test_run_history_scan_summary_config(answer: dict[str, Any], project: str) -> None:
    info = answer["project"][project]["run"]
    spec = BY_ID["r-a"]
    logged = rows(spec)
    n = spec["steps"]
    assert (info["id"], info["name"], info["state"], info["tags"], info["notes"]) == (
        "r-a", spec["name"], "finished", spec["tags"], "n-r-a")
    assert info["config"] == spec["config"]
    assert info["summary_loss"] == pytest.approx(logged[-1]["loss"])
    assert info["summary_step"] == n - 1
    assert info["last_step"] == n - 1
    assert isinstance(info["project_id"], int)
    # history(): 500 samples (the default) spread over the whole run, first and last kept
    steps = info["history_steps"]
    assert len(steps) == 500 and steps == sorted(set(steps)) and steps[0] == 0
    assert steps[-1] == n - 1
    assert info["history_full_steps"] == list(range(n))
    assert info["history_full_loss"] == pytest.approx([r["loss"] for r in logged])
    assert info["history_keys"] == ["_step", "loss"] and info["history_keys_len"] == 100
    # scan_history(page_size=400): every row once, in order, across four pages
    assert info["scan_steps"] == list(range(n))
    assert info["scan_loss"] == pytest.approx([r["loss"] for r in logged])
    assert {"_step", "loss", "acc", "sq", "_runtime", "_timestamp"} <= set(info["scan_keys"])
    assert info["scan_loss_only"] == pytest.approx([r["loss"] for r in logged])
    assert info["scan_loss_only_keys"] == ["_step", "loss"]
    assert info["scan_range"] == list(range(100, 110))
    # console_logs(per_page=2): every captured line once, in order, stderr as "error"
    assert info["console"] == [["info", "console line 0"], ["info", "console line 1"],
                               ["info", "console line 2"], ["error", "console error line"]]
    assert info["console_numbers"] == list(range(len(info["console_numbers"])))
    assert len(info["console_tail"]) == 1
    assert isinstance(info["system_metrics"], dict)
    assert isinstance(info["system_history"], int)


@pytest.mark.parametrize("project", PROJECTS)
def test_files_and_byte_exact_download(answer: dict[str, Any], project: str) -> None:
    info = answer["project"][project]["run"]
    assert info["files"].get("blob.bin") == answer["blob_size"], info["files"]
    assert info["file_count"] == len(info["files"])
    assert info["files_paged"] == sorted(info["files"])  # one file per page
    assert info["download_sha256"] == answer["blob_sha256"]
    assert isinstance(info["file_md5"], str) and len(info["file_md5"]) == 24


@pytest.mark.parametrize("project", PROJECTS)
def test_run_update_is_persisted(answer: dict[str, Any], project: str) -> None:
    upd = answer["project"][project]["updated"]
    spec = BY_ID["r-b"]
    assert upd["tags"] == [*spec["tags"], "updated"]
    assert upd["notes"] == "changed notes"
    assert upd["config"] == {**spec["config"], "added": {"k": 1}}
    assert upd["extra"] == 7
    assert upd["loss"] == pytest.approx(rows(spec)[-1]["loss"])  # the rest kept
    assert upd["state"] == "finished"


def test_projects_and_unsupported_calls(answer: dict[str, Any], server: RunningServer) -> None:
    assert set(PROJECTS) <= set(answer["projects"])
    assert answer["project_fields"]["name"] == PROJECTS[0]
    assert answer["project_fields"]["created_at"]
    assert answer["project_fields"]["owner"] == answer["entity"]
    # what nbtrack does not serve answers a GraphQL error naming the field, never []
    probes = answer["probes"]
    works = ("run.upload_file(path)", "runs.histories()", "run.wait_until_finished()",
             "run.file(name).download()", "api.viewer", "run.logged_artifacts()",
             "run.used_artifacts()")
    for label in works:
        assert probes[label] == "works", (label, probes[label])
    for label, status in probes.items():
        if label == "run.download_history_exports(dir)":  # no parquet exports: the client
            assert status.startswith("IncompleteRunHistoryError"), status  # says so itself
        elif label == "api.artifact(name)":  # artifacts are served (docs/artifacts.md):
            assert "'a:latest' not found" in status, status  # this one does not exist
        elif label not in works and status != "works":
            assert "unknown field" in status or "invalid state" in status, (label, status)
    assert "deleteRun" in probes["run.delete()"]
    seen = captured(server)
    # every operation the reads sent is named in docs/compatibility.md (the logging ones in
    # its first table, the reads in the wandb.Api() table)
    doc = DOC.read_text()
    reads = doc.split("## wandb.Api() against nbtrack's server")[1].split("\n## ")[0]
    for op in seen["operations"]:
        name = op.split(" ", 1)[1]
        assert f"`{name}`" in reads or f"`{op}`" in doc, f"{op} is not in {DOC.name}"
    unknown = " ".join(seen["unknown"])
    for field in ("sweeps", "allViews", "deleteRun"):
        assert field in unknown  # and the server's log names them too

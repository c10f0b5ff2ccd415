"""The official ``wandb`` client (latest from PyPI, its own venv) against nbtrack's server.

Results are read back through ``nbtrack.Api``. The last test checks that every GraphQL
operation and endpoint the client used is listed in ``docs/compatibility.md`` and that the
server never met a field it does not know.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

import nbtrack

from .conftest import Result, WandbClient, captured
from helpers.server import RunningServer

DOC = Path(__file__).parents[2] / "docs" / "compatibility.md"
STEPS = 5000


def _api(server: RunningServer) -> nbtrack.Api:
    return nbtrack.Api(server.url, server.token)


def _result(res: Result) -> dict[str, Any]:
    lines = res.lines("RESULT")
    assert lines, res
    return dict(json.loads(lines[-1]))


def test_log_config_summary_and_files(wandb_client: WandbClient) -> None:
    saved = wandb_client.home / "notes.txt"
    saved.write_text("saved with wandb.save\n" * 100)
    out = _result(wandb_client.script("wandb_client.py", "log", "official", STEPS, saved))
    run = _api(wandb_client.server).run(f"{out['entity']}/official/{out['id']}")

    assert run.state == "finished" and run.data["exit_code"] == 0
    assert run.name == "compat-run" and run.tags == ["compat", "official"]
    assert (run.data["notes"], run.data["group"], run.data["job_type"]) == (
        "from wandb", "g1", "train")
    rows = run.history()
    assert len(rows) == STEPS
    assert [r["_step"] for r in rows] == list(range(STEPS))
    for i in (0, 1, 1234, STEPS - 1):
        assert rows[i]["loss"] == pytest.approx(1.0 / (i + 1))
        assert rows[i]["acc"] == pytest.approx(i / STEPS)
        assert rows[i]["wave"] == pytest.approx(math.sin(i / 10))
    assert all({"loss", "acc", "lr", "wave", "_runtime", "_timestamp"} <= r.keys() for r in rows)

    assert run.config["lr"] == 0.001 and run.config["batch"] == 64
    assert run.config["model"] == {"layers": 4, "act": "gelu"}
    assert run.config["added_later"] is True

    assert run.summary["loss"] == {"min": pytest.approx(1.0 / STEPS)}
    assert run.summary["acc"] == {"max": pytest.approx((STEPS - 1) / STEPS)}
    assert run.summary["wave"] == pytest.approx(math.sin((STEPS - 1) / 10))
    assert run.summary["note"] == "done"
    assert run.summary["_step"] == STEPS - 1

    alerts = run.alerts()
    assert [(a.get("title"), a.get("text")) for a in alerts] == [("halfway", "the loss went down")]

    files = {f["name"]: f["size"] for f in run.files()}
    assert files.get("notes.txt") == saved.stat().st_size, files
    for name in ("wandb-metadata.json", "config.yaml", "wandb-summary.json"):
        assert name in files, files


def test_resume_allow_and_must_continue_at_the_next_step(wandb_client: WandbClient) -> None:
    first = _result(wandb_client.script("wandb_client.py", "resume", "resume", "wb-res-1",
                                        "allow", 100))
    assert first["starting_step"] == 0
    allow = _result(wandb_client.script("wandb_client.py", "resume", "resume", "wb-res-1",
                                        "allow", 50))
    assert allow["starting_step"] == 100
    must = _result(wandb_client.script("wandb_client.py", "resume", "resume", "wb-res-1",
                                       "must", 50))
    assert must["starting_step"] == 150

    api = _api(wandb_client.server)
    run = api.run(f"{api.viewer()['entity']}/resume/wb-res-1")
    rows = run.history()
    assert [r["_step"] for r in rows] == list(range(200))
    assert [r["x"] for r in rows] == list(range(200))
    assert run.summary["x"] == 199 and run.state == "finished"


def test_resume_must_with_an_unknown_id_fails_in_the_client(wandb_client: WandbClient) -> None:
    res = wandb_client.script("wandb_client.py", "resume", "resume", "wb-no-such-run", "must",
                              5, check=False)
    assert res.returncode != 0
    assert "UsageError" in res.stderr and "wb-no-such-run" in res.stderr, res.stderr[-2000:]
    api = _api(wandb_client.server)
    ids = [r.id for r in api.runs(project="resume")]
    assert "wb-no-such-run" not in ids


def test_offline_then_wandb_sync(wandb_client: WandbClient) -> None:
    saved = wandb_client.home / "offline.txt"
    saved.write_text("offline file\n")
    out = _result(wandb_client.script("wandb_client.py", "log", "offline", 300, saved,
                                      WANDB_MODE="offline"))
    run_dirs = list((wandb_client.home / "wandb").glob(f"offline-run-*-{out['id']}"))
    assert len(run_dirs) == 1, list((wandb_client.home / "wandb").iterdir())
    api = _api(wandb_client.server)
    assert out["id"] not in [r.id for r in api.runs(project="offline")]

    sync = wandb_client.run([str(wandb_client.venv.bin("wandb")), "sync", str(run_dirs[0])])
    assert sync.returncode == 0, sync.stdout + sync.stderr
    run = api.run(f"{api.viewer()['entity']}/offline/{out['id']}")
    assert [r["_step"] for r in run.history()] == list(range(300))
    assert run.config["model"] == {"layers": 4, "act": "gelu"}
    assert run.summary["loss"] == {"min": pytest.approx(1.0 / 300)}
    assert run.state == "finished"


def _documented() -> set[str]:
    """Rows of the operations table in docs/compatibility.md: `query Name` / `POST /path`."""
    text = DOC.read_text()
    return set(re.findall(r"^\| `((?:query|mutation|subscription) \w+|[A-Z]+ /[^`]*)`",
                          text, re.M))


def test_every_operation_is_known_and_documented(wandb_server: RunningServer,
                                                 tmp_path_factory: pytest.TempPathFactory
                                                 ) -> None:
    """Runs last in this module: what the client sent in all the tests above."""
    seen = captured(wandb_server)
    # the tests' own reads (nbtrack.Api) and the fixture's health checks are not the client's
    seen["endpoints"] = {k: v for k, v in seen["endpoints"].items()
                         if not k.split(" ", 1)[1].startswith(("/api/v1/", "/healthz"))}
    report = tmp_path_factory.getbasetemp() / "wandb-operations.json"
    report.write_text(json.dumps({**seen, "endpoints": {k: sorted(v) for k, v in
                                                        seen["endpoints"].items()}}, indent=1))
    assert seen["operations"], "the server logged no GraphQL operation: is DEBUG logging on?"
    assert not seen["unknown"], f"the client used fields the server does not have: {seen}"
    bad = {k: v for k, v in seen["endpoints"].items() if any(s >= 400 for s in v)}
    assert not bad, f"the server answered the official client with errors: {bad}"
    missing = (set(seen["operations"]) | set(seen["endpoints"])) - _documented()
    assert not missing, (f"operations the official client used that docs/compatibility.md "
                         f"does not list (captured in {report}): {sorted(missing)}")

"""nbtrack's sender against another W&B-compatible server: ``openwandb`` from PyPI.

openwandb's license is non-commercial: it is installed into its own test venv and only run
as a separate process; nothing of it is imported or vendored. Results are read through
openwandb's own REST API. Only what a correct W&B server must accept is tested here; where
openwandb falls short (file-stream offsets, resume) is documented in docs/compatibility.md.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

import nbtrack

from .venvs import Venv
from helpers.procs import terminate
from helpers.server import free_port
from helpers.wait import wait_until_up

STEPS = 3000  # openwandb's metrics endpoint answers at most 10000 points per key


@dataclass
class OpenWandb:
    url: str
    api_key: str
    jwt: str
    proc: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        r = requests.get(f"{self.url}{path}", params=params, timeout=30,
                         headers={"Authorization": f"Bearer {self.jwt}"})
        r.raise_for_status()
        return r.json() if "json" in r.headers.get("content-type", "") else r.text


def _start(venv: Venv, root: Path) -> OpenWandb:
    port = free_port()
    password = secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENWANDB_", "WANDB_"))}
    env.update({"HOME": str(root), "OPENWANDB_ADMIN_PASS": password,
                "OPENWANDB_JWT_SECRET": secrets.token_hex(32)})
    log = root / "openwandb.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(venv.bin("openwandb")), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--data-dir", str(root / "data"), "--log-level", "info"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def login() -> str | None:
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            r = requests.post(f"{url}/api/v2/auth/login", timeout=2,
                              json={"username": "admin", "password": password})
            if r.ok:
                return str(r.json()["token"])
        return None

    try:
        token = wait_until_up(proc, login, 60, "openwandb", log)
    except AssertionError:
        proc.kill()
        proc.wait()
        raise
    r = requests.post(f"{url}/api/v2/settings/api-keys", json={"name": "nbtrack-compat"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    r.raise_for_status()
    return OpenWandb(url, r.json()["api_key"]["key"], token, proc, log)


@pytest.fixture(scope="module")
def openwandb(openwandb_venv: Venv,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenWandb]:
    srv = _start(openwandb_venv, tmp_path_factory.mktemp("openwandb"))
    yield srv
    terminate(srv.proc)


def test_nbtrack_run_arrives_in_openwandb(openwandb: OpenWandb, nbtrack_dir: Path,
                                          tmp_path: Path) -> None:
    attachment = tmp_path / "notes.txt"
    attachment.write_text("uploaded by nbtrack\n" * 50)
    run = nbtrack.init(project="nbtrack-compat", mode="online", base_url=openwandb.url,
                       api_key=openwandb.api_key, config={"lr": 0.01, "opt": {"name": "adam"}},
                       tags=["compat"])
    for i in range(STEPS):
        run.log({"loss": 1.0 / (i + 1), "acc": i / STEPS, "wave": math.sin(i / 7)})
    run.config.update({"epochs": 3})
    run.save(attachment)
    run.finish(quiet=True)
    assert run.state == "finished"

    runs = openwandb.get(f"/api/v2/projects/{run.entity}/nbtrack-compat/runs")["runs"]
    assert [r["run_id"] for r in runs] == [run.id]
    stored = openwandb.get(f"/api/v2/runs/{run.id}")["run"]
    assert stored["state"] == "finished"
    config = {k: v["value"] if isinstance(v, dict) and "value" in v else v
              for k, v in stored["config"].items()}
    assert config["lr"] == 0.01 and config["opt"] == {"name": "adam"} and config["epochs"] == 3
    assert stored["summary"]["loss"] == pytest.approx(1.0 / STEPS)

    metrics = openwandb.get(f"/api/v2/runs/{run.id}/metrics")["metrics_by_key"]
    assert set(metrics) == {"loss", "acc", "wave"}
    for key, fn in (("loss", lambda i: 1.0 / (i + 1)), ("acc", lambda i: i / STEPS),
                    ("wave", lambda i: math.sin(i / 7))):
        points = metrics[key]
        assert [p["step"] for p in points] == list(range(STEPS)), key
        assert all(p["value"] == pytest.approx(fn(p["step"])) for p in points), key

    raw = openwandb.get(f"/files/{run.entity}/nbtrack-compat/{run.id}/wandb-history.jsonl")
    assert len([ln for ln in raw.splitlines() if ln.strip()]) == STEPS, "every row, once"

    files = {f.get("name") or f.get("filename") or f.get("path"): f
             for f in openwandb.get(f"/api/v1/runs/{run.id}/files")["files"]}
    assert any(str(name).endswith("notes.txt") for name in files), files

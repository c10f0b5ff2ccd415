"""Environment capture: metadata and requirements as run files; no secret reaches the server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from nbtrack.capture import environment

SECRET = "s3cr3t-token-f4ke-0123456789abcdef"


def _file(live_server: Any, run: Any, name: str) -> str:
    r = requests.get(f"{live_server.url}/api/v1/runs/{run.path}/files/{name}",
                     auth=("api", live_server.token), timeout=10)
    assert r.status_code == 200, (name, r.status_code)
    return r.text


def _git_repo(path: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)

    path.mkdir()
    git("init", "-q")
    git("-c", "user.email=a@b", "-c", "user.name=n", "commit", "-q", "--allow-empty", "-m", "x")
    git("remote", "add", "origin", f"https://user:{SECRET}@example.com/team/repo.git")


def test_metadata_requirements_and_no_secrets(online: Any, live_server: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    _git_repo(repo)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MY_API_TOKEN", SECRET)
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/analysis.ipynb")
    run = online(config={"lr": 0.1})
    run.log({"loss": 1.0})
    run.finish(quiet=True)
    names = {f["name"] for f in run_files(live_server, run)}
    assert {"wandb-metadata.json", "requirements.txt"} <= names
    meta = json.loads(_file(live_server, run, "wandb-metadata.json"))
    assert meta["python"] and meta["os"] and meta["host"]
    assert meta["notebook"] == "/home/me/analysis.ipynb"
    assert meta["git"]["remote"] == "https://example.com/team/repo.git"
    assert len(meta["git"]["commit"]) == 40
    reqs = _file(live_server, run, "requirements.txt")
    assert "psutil==" in reqs and "protobuf==" in reqs
    # the fake secret is nowhere on the server: database, files, logs
    for p in live_server.dir.rglob("*"):
        if p.is_file():
            assert SECRET.encode() not in p.read_bytes(), p


def run_files(live_server: Any, run: Any) -> list[dict[str, Any]]:
    r = requests.get(f"{live_server.url}/api/v1/runs/{run.path}/files",
                     auth=("api", live_server.token), timeout=10)
    return list(r.json()["files"])


def test_switches(online: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_CAPTURE_REQUIREMENTS", "off")
    monkeypatch.setenv("NBTRACK_CAPTURE_GIT", "off")
    run = online()
    run.finish(quiet=True)
    assert {f["name"] for f in run_files(live_server, run)} == {"wandb-metadata.json"}
    assert "git" not in json.loads(_file(live_server, run, "wandb-metadata.json"))
    monkeypatch.setenv("NBTRACK_CAPTURE_ENV", "off")
    run2 = online()
    run2.finish(quiet=True)
    assert run_files(live_server, run2) == []


def test_strip_credentials_and_vscode_path() -> None:
    assert environment.strip_credentials("https://u:p@h.com:8443/a.git?x=1") == \
        "https://h.com:8443/a.git"
    assert environment.strip_credentials("git@github.com:o/r.git") == "git@github.com:o/r.git"
    assert environment.strip_credentials("u:tok@host:o/r.git") == "host:o/r.git"
    assert environment.notebook_path({"__vsc_ipynb_file__": "/w/nb.ipynb"}) == "/w/nb.ipynb"

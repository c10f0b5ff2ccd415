"""Compatibility suite: the official ``wandb`` client against our server, and nbtrack against
``openwandb``. Both programs are installed from PyPI into their own venvs (``venvs.py``)
and run only as subprocesses; the installs start as soon as these tests are collected.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .venvs import INSTALLS, InstallError, Venv
from helpers.server import RunningServer, start_server

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
NEEDS = {"test_wandb_client.py": "wandb", "test_behaviour.py": "wandb",
         "test_media_pages.py": "wandb", "test_public_api.py": "wandb",
         "test_encodings.py": "wandb", "test_wandb_wire.py": "wandb",
         "test_wandb_media.py": "wandb", "test_wandb_artifacts.py": "wandb",
         "test_openwandb.py": "openwandb"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the venv installs this session needs, in the background, right away."""
    for item in items:
        name = NEEDS.get(Path(str(item.fspath)).name)
        if name and HERE in Path(str(item.fspath)).parents:
            INSTALLS.start(name)


def _venv(name: str) -> Venv:
    try:
        return INSTALLS.get(name)
    except InstallError as e:
        pytest.fail(f"cannot install {name} from PyPI into a test venv: {e}", pytrace=False)


@pytest.fixture(scope="session")
def wandb_venv() -> Venv:
    return _venv("wandb")


@pytest.fixture(scope="session")
def openwandb_venv() -> Venv:
    return _venv("openwandb")


@pytest.fixture(scope="session")
def wandb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One nbtrack server for the whole suite, logging every GraphQL operation (DEBUG)."""
    srv = start_server(tmp_path_factory.mktemp("wandb-server"), log_level="DEBUG")
    yield srv
    srv.stop()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def lines(self, prefix: str) -> list[str]:
        return [ln[len(prefix):].strip() for ln in self.stdout.splitlines()
                if ln.startswith(prefix)]


@dataclass
class WandbClient:
    """Runs scripts with the official client in its venv, pointed at ``server``."""

    venv: Venv
    server: RunningServer
    home: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WANDB_", "NBTRACK_", "PYTHON"))}
        env.update({
            "HOME": str(self.home),
            "WANDB_BASE_URL": self.server.url,
            "WANDB_API_KEY": self.server.token,
            "WANDB_DIR": str(self.home),
            "WANDB_CONFIG_DIR": str(self.home / "config"),
            "WANDB_CACHE_DIR": str(self.home / "cache"),
            "WANDB_DATA_DIR": str(self.home / "data"),
            "WANDB_SILENT": "true",
            "WANDB_DISABLE_GIT": "true",
            "WANDB_ERROR_REPORTING": "false",
        })
        env.update(extra)
        return env

    def run(self, args: list[str], *, timeout: float = 120, **env: str) -> Result:
        proc = subprocess.run(args, env=self.env(**env), cwd=self.home, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def script(self, name: str, *args: Any, check: bool = True, **env: str) -> Result:
        res = self.run([str(self.venv.python), str(SCRIPTS / name), *map(str, args)],
                       timeout=120, **env)
        if check and res.returncode != 0:
            raise AssertionError(f"{name} {args} failed ({res.returncode}):\n"
                                 f"{res.stdout[-3000:]}\n{res.stderr[-5000:]}")
        return res


@pytest.fixture
def wandb_client(wandb_venv: Venv, wandb_server: RunningServer, tmp_path: Path) -> WandbClient:
    home = tmp_path / "wandb-home"
    home.mkdir()
    return WandbClient(wandb_venv, wandb_server, home)


# -------------------------------------------------------------- what the client sent

_GRAPHQL = re.compile(r"nbtrack\.server: graphql (query|mutation|subscription) (\S+?):")
_ACCESS = re.compile(r'"([A-Z]+) (/[^ ?"]*)[^"]* HTTP/1\.[01]" (\d{3})')
_UNKNOWN = re.compile(r"graphql: (unknown field .*|.*unknown sub-fields.*)$")


def endpoint(path: str) -> str:
    """A request path with its run/file parts replaced by placeholders."""
    path = re.sub(r"^/files/[^/]+/[^/]+/[^/]+/file_stream/?$", "/files/<entity>/<project>/<run>/"
                  "file_stream", path)
    path = re.sub(r"^/storage/.*", "/storage/<entity>/<project>/<run>/<file> (signed)", path)
    path = re.sub(r"^/artifact-storage/[^/]+/blobs/.*", "/artifact-storage/<entity>/blobs/<md5>"
                  " (signed)", path)
    path = re.sub(r"^/artifact-storage/[^/]+/manifests/.*",
                  "/artifact-storage/<entity>/manifests/<id> (signed)", path)
    return re.sub(r"^/sdk/otel/.*", "/sdk/otel/...", path)


def captured(server: RunningServer) -> dict[str, Any]:
    """GraphQL operations, HTTP endpoints (with statuses) and unknown-field notes in the log."""
    text = (server.dir / "server" / "test-server.log").read_text(errors="replace")
    ops: dict[str, int] = {}
    endpoints: dict[str, set[int]] = {}
    unknown: list[str] = []
    for line in text.splitlines():
        if m := _GRAPHQL.search(line):
            key = f"{m.group(1)} {m.group(2)}"
            ops[key] = ops.get(key, 0) + 1
        elif m := _ACCESS.search(line):
            endpoints.setdefault(f"{m.group(1)} {endpoint(m.group(2))}", set()).add(
                int(m.group(3)))
        if m := _UNKNOWN.search(line):
            unknown.append(m.group(1))
    return {"operations": ops, "endpoints": endpoints, "unknown": unknown}

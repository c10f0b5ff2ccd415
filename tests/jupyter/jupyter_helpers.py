"""Helpers for tests/jupyter: a real Jupyter server with nbtrack's extension, under a
hub-like base_url, and a tracking server found the way kernels find it
(``<NBTRACK_DIR>/server/state.json``).

The extension is enabled the way ``pip install`` enables it: ``nbext/``'s
``jupyter_server_config.d/nbtrack.json`` copied into the (isolated) Jupyter config dir.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.browser import JUPYTER_PAGE_ERRORS, PageErrors, run_all, wait_kernel_ready
from helpers.server import free_port, http_ok
from helpers.wait import wait_until_up

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "/user/alice/"
TOKEN = "jupyter-login-token-for-tests"


@dataclass
class Jupyter:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    home: Path
    nbtrack_dir: Path
    base_url: str = BASE_URL

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return self.origin + self.base_url


def jupyter_env(tmp: Path, nbtrack_dir: Path, enable: bool = True) -> dict[str, str]:
    """Isolated Jupyter directories; ``enable`` puts the extension's config file in the
    isolated config dir (as ``pip install`` would), else the venv's own config must."""
    dirs = {name: tmp / name.lower() for name in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "JUPYTER_DATA_DIR")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    conf = dirs["JUPYTER_CONFIG_DIR"] / "jupyter_server_config.d"
    conf.mkdir(exist_ok=True)
    if enable:
        shutil.copy(ROOT / "nbext" / "jupyter_server_config.d" / "nbtrack.json",
                    conf / "nbtrack.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env.update({k: str(v) for k, v in dirs.items()})
    env["NBTRACK_DIR"] = str(nbtrack_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "kernel"), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


@contextlib.contextmanager
def start_jupyter(tmp: Path, nbtrack_dir: Path, env_extra: dict[str, str] | None = None,
                  app: str = "jupyter_server", base_url: str = BASE_URL,
                  enable: bool = True) -> Iterator[Jupyter]:
    """``python -m <app>`` (``jupyter_server`` or ``jupyterlab``) under ``base_url``."""
    home = tmp / "root"
    home.mkdir(parents=True, exist_ok=True)
    env = jupyter_env(tmp, nbtrack_dir, enable)
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab"
    (settings / "apputils-extension").mkdir(parents=True, exist_ok=True)
    (settings / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    env.update(env_extra or {})
    port = free_port()
    log = tmp / "jupyter.log"
    cmd = [
        sys.executable, "-m", app, "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={base_url}", f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={home}", "--ServerApp.log_level=DEBUG",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Jupyter(proc, port, log, home, nbtrack_dir, base_url)
    try:
        wait_until_up(proc, lambda: http_ok(f"{server.base}api/status?token={TOKEN}"), 60,
                      f"jupyter ({app})", log)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def nbtrack_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """NBTRACK_DIR for this module's test process, its kernels and its Jupyter server."""
    from nbtrack.client.localserver import stop_local_server

    home = tmp_path_factory.mktemp("nbtrack-home")
    old = {k: v for k, v in os.environ.items() if k.startswith("NBTRACK_")}
    for k in old:
        del os.environ[k]
    os.environ["NBTRACK_DIR"] = str(home)
    try:
        yield home
    finally:
        stop_local_server(home)
        os.environ.pop("NBTRACK_DIR", None)
        os.environ.update(old)


def open_in_lab(browser: Any, jup: Jupyter, cells: list[str], name: str
                ) -> tuple[Any, PageErrors]:
    """Write ``cells`` as ``<name>.ipynb``, open it in JupyterLab in a new page (its errors
    collected from the start), and Run All once the kernel is ready; returns the page
    while the cells run, and its errors."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, jup.home / f"{name}.ipynb")
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors = PageErrors(page, allowed=JUPYTER_PAGE_ERRORS)
    page.goto(f"{jup.base}lab/tree/{name}.ipynb?token={TOKEN}",
              wait_until="domcontentloaded", timeout=60_000)
    page.locator(".jp-Notebook").first.wait_for(state="attached", timeout=60_000)
    wait_kernel_ready(page)
    run_all(page)
    return page, errors


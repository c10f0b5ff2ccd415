"""The venv that ``scripts/setup_env.sh`` makes (an editable install) enables the Jupyter
extension as a wheel does.

The suite runs in that venv (``scripts/test.sh`` sources ``setup_env.sh``), so this test
checks the running interpreter's prefix: the extension's config file is there, ``jupyter
server extension list`` (with an empty user config dir, so only the venv's config counts)
says ``nbtrack.jupyter`` is enabled, and a Jupyter server started from the venv with
nothing copied into its config dir serves the runs table under ``<base_url>nbtrack/``.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from jupyter_helpers import BASE_URL, ROOT, TOKEN, jupyter_env, start_jupyter

import nbtrack

pytestmark = pytest.mark.timeout(180)


def test_setup_env_venv_is_an_editable_install_of_this_checkout() -> None:
    # PYTHONPATH may point at the checkout too; the venv itself must hold the editable install
    listing = subprocess.run([sys.executable, "-m", "pip", "list", "--editable"],
                             capture_output=True, text=True, check=True, timeout=120).stdout
    assert "nbtrack" in listing, listing
    assert Path(nbtrack.__file__).resolve().is_relative_to(ROOT / "kernel")


def test_extension_enabled_in_the_dev_venv(tmp_path: Path) -> None:
    conf = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "nbtrack.json"
    assert conf.is_file(), f"{conf} missing: scripts/setup_env.sh did not enable the extension"
    env = jupyter_env(tmp_path, tmp_path / "nbtrack-home", enable=False)
    listing = subprocess.run([sys.executable, "-m", "jupyter_server", "extension", "list"],
                             env=env, capture_output=True, text=True, timeout=120)
    text = listing.stdout + listing.stderr
    line = next((ln for ln in text.splitlines() if "nbtrack.jupyter" in ln), "")
    assert "enabled" in line, text


def test_dev_venv_jupyter_serves_the_runs_table(nbtrack_home: Path, tmp_path: Path) -> None:
    from nbtrack.client.localserver import ensure_local_server

    ensure_local_server(nbtrack_home)  # the runs table needs a tracking server to list
    with start_jupyter(tmp_path, nbtrack_home, enable=False) as server:
        req = urllib.request.Request(f"{server.base}nbtrack/",
                                     headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = resp.read().decode()
            assert resp.status == 200
    assert 'data-view="runs"' in body, body[:2000]
    assert f'data-root="{BASE_URL}nbtrack/' in body, body[:2000]

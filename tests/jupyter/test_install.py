"""A wheel built from the checkout enables the extension; ``pip uninstall`` leaves no config.

Built and installed the way a user does: ``pip wheel`` with build isolation (the build
dependencies declared in ``pyproject.toml`` are installed by pip into a throwaway build
environment, so nothing is taken from the interpreter that runs the tests), then installed
with its dependencies into a fresh venv that does not see the base interpreter's packages
(``pip freeze`` of the test venv is the constraints file, so pip takes the same versions,
mostly from its cache). Then: ``jupyter server extension list`` shows ``nbtrack.jupyter``
enabled and importable, JupyterLab and Notebook 7 start from that venv with no error from
the extension and serve ``<base_url>nbtrack/ping``; after ``pip uninstall`` the config file
is gone and the list no longer names the extension.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_helpers import TOKEN

from helpers.server import free_port, http_ok
from helpers.wait import wait_until_up

pytestmark = pytest.mark.timeout(400)

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NBTRACK_", "JUPYTER", "PYTHONPATH", "PIP_"))}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR",
                 "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        d = tmp / name.lower()
        d.mkdir(parents=True, exist_ok=True)
        env[name] = str(d)
    env["NBTRACK_DIR"] = str(tmp / "nbtrack-home")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def test_pip_install_enables_and_uninstall_cleans(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "nbext", src / "nbext")
    shutil.copytree(ROOT / "kernel", src / "kernel",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = tmp_path / "dist"
    env = _env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-input", "-q", "-w", str(dist),
          str(src)], env, work)
    wheels = list(dist.glob("nbtrack-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    seen = _run([py, "-c", "import sys; print(sys.path)"], env, work)
    assert str(Path(sys.prefix)) not in seen, "the fresh venv must not see the test venv"
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(ln + "\n" for ln in frozen.splitlines()
                                   if ln and not ln.startswith(("nbtrack", "-e"))))
    _run([py, "-m", "pip", "install", "--no-input", "-q", "-c", str(constraints),
          f"{wheels[0]}[notebook]"], env, work)
    conf = venv / "etc" / "jupyter" / "jupyter_server_config.d" / "nbtrack.json"
    assert conf.is_file(), "the data file was not installed"
    where = _run([py, "-c", "import nbtrack.jupyter, sys; print(nbtrack.jupyter.__file__)"],
                 env, work)
    assert where.strip().startswith(str(venv)), where

    listing = _run([py, "-m", "jupyter_server", "extension", "list"], env, work)
    line = next((ln for ln in listing.splitlines() if "nbtrack.jupyter" in ln), "")
    assert "enabled" in line, listing
    assert "nbtrack.jupyter" in listing and "OK" in listing.split("nbtrack.jupyter", 1)[1][:200]

    # JupyterLab and Notebook 7 from the venv: the extension loads without an error, answers
    for app in ("jupyterlab", "notebook"):
        _serve_and_ping(py, app, env, work, tmp_path / f"{app}.log")

    _run([py, "-m", "pip", "uninstall", "-y", "nbtrack"], env, work)
    assert not conf.exists()
    leftovers = [p for p in (venv / "etc").rglob("*") if "nbtrack" in p.name]
    assert not leftovers, leftovers
    listing = _run([py, "-m", "jupyter_server", "extension", "list"], env, work)
    assert "nbtrack.jupyter" not in listing, listing


def _serve_and_ping(py: str, app: str, env: dict[str, str], work: Path, log: Path) -> None:
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [py, "-m", app, "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={work}"],
            env=env, cwd=work, stdout=out, stderr=subprocess.STDOUT)
    ping = f"http://127.0.0.1:{port}/nbtrack/ping"
    try:
        wait_until_up(proc, lambda: http_ok(ping, {"Authorization": f"token {TOKEN}"}), 90,
                      f"{app} from the installed wheel (serving /nbtrack/ping)", log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert f"nbtrack: run pages at http://127.0.0.1:{port}/nbtrack/" in text, (app, text[-3000:])
    bad = [ln for ln in text.splitlines()
           if "nbtrack" in ln.lower() and ("[E " in ln or "Traceback" in ln or "[W " in ln)]
    assert not bad, (app, bad)
    assert "Traceback" not in text, (app, text[-3000:])

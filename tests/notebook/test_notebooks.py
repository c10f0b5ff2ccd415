"""The example notebooks run top to bottom (nbval-lax), and a strict notebook's committed
outputs still match (nbval, with ids, paths, ports and times sanitized)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env["NBTRACK_DIR"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "kernel"), env.get("PYTHONPATH", "")])
    return env


def _pytest(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest",
           "--nbval-current-env", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                          text=True, timeout=600)


def test_example_notebooks_run(tmp_path: Path) -> None:
    done = _pytest(["--nbval-lax", str(ROOT / "notebooks")], tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_strict_notebook_outputs(tmp_path: Path) -> None:
    done = _pytest(["--nbval", "--nbval-sanitize-with", str(HERE / "sanitize.cfg"),
                    str(HERE / "magics_strict.ipynb")], tmp_path)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")))
def test_notebooks_explain_themselves(name: str) -> None:
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert nb.cells[0].cell_type == "markdown"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 2

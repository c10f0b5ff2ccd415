"""The import contract (``[tool.importlinter]`` in pyproject.toml) holds, and it would catch a
bad import: a copy of the package with one upward import added fails ``lint-imports``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = str(Path(sys.executable).with_name("lint-imports"))


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "kernel")}
    return subprocess.run([LINT, "--no-cache"], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=300)


def _copy(tmp: Path) -> Path:
    tree = tmp / "tree"
    tree.mkdir()
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    shutil.copytree(ROOT / "kernel", tree / "kernel",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return tree


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    out = _lint(_copy(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout and "KEPT" in out.stdout, out.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    writer = tree / "kernel" / "nbtrack" / "pipeline" / "writer.py"
    writer.write_text(writer.read_text() + "\nfrom nbtrack.notebook import widget  # noqa\n")
    out = _lint(tree)
    assert out.returncode != 0, out.stdout
    assert "nbtrack.pipeline.writer -> nbtrack.notebook.widget" in out.stdout, out.stdout


def test_the_server_importing_the_pipeline_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    app = tree / "kernel" / "nbtrack" / "server" / "http" / "app.py"
    app.write_text(app.read_text() + "\nfrom nbtrack.pipeline import queues  # noqa\n")
    out = _lint(tree)
    assert out.returncode != 0, out.stdout
    assert "nbtrack.server.http.app -> nbtrack.pipeline.queues" in out.stdout, out.stdout


def test_a_circle_inside_the_server_breaks_the_contract(tmp_path: Path) -> None:
    """The storage interface importing a backend (the circle issue 14 removed) fails."""
    tree = _copy(tmp_path)
    base = tree / "kernel" / "nbtrack" / "server" / "storage" / "base.py"
    base.write_text(base.read_text() + "\nfrom nbtrack.server.storage import sqlite  # noqa\n")
    out = _lint(tree)
    assert out.returncode != 0, out.stdout
    assert "No cycles are allowed in nbtrack.server.storage" in out.stdout, out.stdout


def test_the_wire_importing_nbtrack_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    files = tree / "kernel" / "nbtrack" / "wire" / "files.py"
    files.write_text(files.read_text() + "\nfrom nbtrack import settings  # noqa\n")
    out = _lint(tree)
    assert out.returncode != 0, out.stdout
    assert "nbtrack.wire.files -> nbtrack.settings" in out.stdout, out.stdout

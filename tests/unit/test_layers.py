"""The import contract (``[tool.importlinter]`` in pyproject.toml) holds, and it would catch a
bad import: a copy of the package with one upward import added fails ``lint-imports``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


BAD_IMPORTS = [
    pytest.param("pipeline/writer.py", "from nbtrack.notebook import widget",
                 "nbtrack.pipeline.writer -> nbtrack.notebook.widget", id="upward"),
    pytest.param("server/http/app.py", "from nbtrack.pipeline import queues",
                 "nbtrack.server.http.app -> nbtrack.pipeline.queues", id="server-to-pipeline"),
    # the storage interface importing a backend: the circle issue 14 removed
    pytest.param("server/storage/base.py", "from nbtrack.server.storage import sqlite",
                 "No cycles are allowed in nbtrack.server.storage", id="server-circle"),
    pytest.param("wire/files.py", "from nbtrack import settings",
                 "nbtrack.wire.files -> nbtrack.settings", id="wire-imports-nbtrack"),
]


@pytest.mark.parametrize(("module", "line", "reported"), BAD_IMPORTS)
def test_a_bad_import_breaks_the_contract(tmp_path: Path, module: str, line: str,
                                          reported: str) -> None:
    tree = _copy(tmp_path)
    path = tree / "kernel" / "nbtrack" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    out = _lint(tree)
    assert out.returncode != 0, out.stdout
    assert reported in out.stdout, out.stdout

"""The generated front-end files in the package are what ``npm run build`` makes of js/src.

``js/build.mjs --check`` rebuilds every output with esbuild in memory and fails when a
committed copy differs; these tests run it (``scripts/test.sh`` runs ``npm ci`` first).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"
OUTPUTS = [
    "kernel/nbtrack/notebook/static/widget.js",
    "kernel/nbtrack/notebook/static/widget.css",
    "kernel/nbtrack/pages/static/pages.js",
    "kernel/nbtrack/pages/static/pages.css",
    "kernel/nbtrack/pages/static/uPlot.LICENSE",
]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required (Node 20 is part of the dev environment)")
    if not (JS / "node_modules" / "esbuild").is_dir():
        pytest.fail("js/node_modules is missing: run `npm ci` in js/ (scripts/test.sh does)")
    return node


def _build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_node(), str(JS / "build.mjs"), *args], cwd=JS,
                          capture_output=True, text=True, timeout=120)


def test_committed_outputs_are_fresh() -> None:
    out = _build("--check")
    assert out.returncode == 0, (
        f"{out.stderr.strip()}\nthe generated front end is stale: run `npm run build` in js/ "
        "and commit")


def test_check_mode_reports_a_stale_or_missing_copy(tmp_path: Path) -> None:
    assert _build("--out", str(tmp_path)).returncode == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                  if p.is_file()) == sorted(OUTPUTS)
    assert _build("--check", "--out", str(tmp_path)).returncode == 0
    css = tmp_path / "kernel/nbtrack/notebook/static/widget.css"
    css.write_text(css.read_text() + "/* edited */\n")
    stale = _build("--check", "--out", str(tmp_path))
    assert stale.returncode == 1 and "widget.css" in stale.stderr
    (tmp_path / "kernel/nbtrack/pages/static/pages.js").unlink()
    assert "pages.js" in _build("--check", "--out", str(tmp_path)).stderr


def test_outputs_are_minified_with_a_banner() -> None:
    for rel in OUTPUTS[:4]:
        text = (ROOT / rel).read_text(encoding="utf-8")
        head = text.split("*/", 1)[0]
        assert head.startswith("/* nbtrack — GENERATED from js/src/"), rel
        assert "uPlot" in head and "MIT License" in head, rel
        assert len(text.splitlines()) < 10, f"{rel} is not minified"
    assert "Permission is hereby granted" in (ROOT / OUTPUTS[4]).read_text(encoding="utf-8")


def test_widget_bundle_is_one_self_contained_module(tmp_path: Path) -> None:
    """anywidget loads ONE module: no imports left, a default export with render."""
    mod = tmp_path / "widget.mjs"
    mod.write_bytes((ROOT / OUTPUTS[0]).read_bytes())
    out = subprocess.run(
        [_node(), "-e",
         f"import({mod.as_uri()!r}).then(m => console.log(typeof m.default.render))"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "function"

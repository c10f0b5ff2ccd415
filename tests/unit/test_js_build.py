"""The committed widget bundle (kernel/nbtrack/notebook/static) matches js/src."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "kernel" / "nbtrack" / "notebook" / "static"


def _load_build():
    path = ROOT / "scripts" / "build_js.py"
    spec = importlib.util.spec_from_file_location("nbtrack_build_js", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


build_js = _load_build()


def test_static_files_are_fresh(tmp_path: Path) -> None:
    out = tmp_path / "static"
    build_js.build(out)
    for name in ("widget.js", "widget.css"):
        committed = STATIC / name
        assert committed.is_file(), f"{committed} missing: run python scripts/build_js.py"
        assert committed.read_bytes() == (out / name).read_bytes(), (
            f"{committed.relative_to(ROOT)} is stale: run python scripts/build_js.py and commit"
        )


def test_check_mode_reports_stale(tmp_path: Path) -> None:
    out = tmp_path / "static"
    build_js.build(out)
    assert build_js.main(["--check", "--out", str(out)]) == 0
    (out / "widget.css").write_text("/* edited */\n")
    assert build_js.main(["--check", "--out", str(out)]) == 1


def test_bundle_is_one_self_contained_module() -> None:
    text = (STATIC / "widget.js").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert not [ln for ln in lines if ln.startswith("import ")], "relative imports left in bundle"
    exports = [ln for ln in lines if ln.startswith("export ")]
    assert exports == ["export default { render };"]
    code = [ln for ln in lines if not ln.lstrip().startswith("//")]
    assert not [ln for ln in code if "from './" in ln or ln.lstrip().startswith("import ")]
    for mod in ("format.js", "chart.js", "widget.js"):
        assert f"// ---- js/src/{mod} " in text


def test_bundle_loads_in_node(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required (Node 20 is part of the dev environment)")
    mod = tmp_path / "widget.mjs"
    mod.write_bytes((STATIC / "widget.js").read_bytes())
    out = subprocess.run(
        [node, "-e",
         f"import({mod.as_uri()!r}).then(m => console.log(typeof m.default.render))"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "function"


def test_build_rejects_unsupported_forms(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "widget.css").write_text("")
    (src / "widget.js").write_text("import { a } from './h.js';\nexport default { render: a };\n")
    (src / "h.js").write_text("export { a };\nconst a = 1;\n")
    with pytest.raises(build_js.BuildError, match="unsupported export"):
        build_js.render_bundle(src)
    (src / "h.js").write_text("export const b = 1;\n")
    with pytest.raises(build_js.BuildError, match="does not export"):
        build_js.render_bundle(src)
    (src / "h.js").write_text("export const a = 1;\nconst render = 2;\n")
    (src / "widget.js").write_text(
        "import { a } from './h.js';\nfunction render() {}\nexport default { render };\n")
    with pytest.raises(build_js.BuildError, match="declared in"):
        build_js.render_bundle(src)
    (src / "widget.js").write_text("import * as h from './h.js';\n")
    with pytest.raises(build_js.BuildError, match="unsupported import"):
        build_js.render_bundle(src)
    (src / "h.js").write_text("export const a = 1;\n")
    (src / "widget.js").write_text(
        "import { a } from './h.js';\nexport default { render() { return a; } };\n")
    text = build_js.render_bundle(src)
    assert "\nconst a = 1;\n" in text and "export const" not in text

"""The test tree itself: pytest's default import mode needs unique module names."""

from __future__ import annotations

import collections
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    """The name pytest imports a test file under: dotted through __init__.py packages."""
    parts = [path.stem]
    parent = path.parent
    while (parent / "__init__.py").exists():
        parts.insert(0, parent.name)
        parent = parent.parent
    return ".".join(parts)


def test_test_modules_have_unique_import_names() -> None:
    names = collections.defaultdict(list)
    for path in TESTS.rglob("test_*.py"):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        names[_module_name(path)].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in names.items() if len(paths) > 1}
    assert not clashes, f"rename one of each: {clashes}"

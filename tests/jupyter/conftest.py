"""Fixtures of tests/jupyter (helpers in ``jupyter_helpers.py``, importable by the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from jupyter_helpers import nbtrack_home  # noqa: F401  (fixture)

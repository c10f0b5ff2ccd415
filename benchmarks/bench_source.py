"""Which nbtrack source the benchmarks run: a snapshot of the committed HEAD (default) or the
work tree as it is. Others edit ``kernel/`` while benchmarks run, so the default measures
exactly one commit."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.check_output(["git", "-C", str(ROOT), *args], text=True,
                                   stderr=subprocess.DEVNULL).strip()


def prepare(source: str = "head") -> tuple[Path, str]:
    """(the ``kernel`` directory to put first on ``PYTHONPATH``, a description of it).

    Also puts it first on ``sys.path`` and ``$PYTHONPATH`` of this process, so that servers
    started from here (``python -m nbtrack.server``) run the same code.
    """
    kernel = ROOT / "kernel"
    try:
        commit = _git("rev-parse", "--short", "HEAD")
    except (subprocess.SubprocessError, OSError):
        commit = ""
    if source == "head" and commit:
        data = subprocess.check_output(["git", "-C", str(ROOT), "archive", "--format=tar",
                                        "HEAD", "kernel"])
        dest = Path(tempfile.mkdtemp(prefix="nbtrack-src-"))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")
        kernel = dest / "kernel"
        desc = f"git {commit} (HEAD snapshot)"
    else:
        dirty = False
        if commit:
            dirty = subprocess.call(["git", "-C", str(ROOT), "diff", "--quiet", "HEAD", "--",
                                     "kernel"], stderr=subprocess.DEVNULL) != 0
        desc = f"work tree{f' at git {commit}' if commit else ''}{' + edits' if dirty else ''}"
    sys.path.insert(0, str(kernel))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(kernel), os.environ.get("PYTHONPATH", "")) if p)
    return kernel, desc

"""Environment capture at init: where and with what the run ran.

Written as two run files, uploaded through the ordinary ``FilesRecord`` path:

- ``wandb-metadata.json`` (W&B's name): Python version, platform, host, program,
  the notebook's path when it can be found, git commit and remote (credentials
  stripped from the URL), CPU count;
- ``requirements.txt``: the installed distributions, ``name==version``.

Nothing secret is read: no environment variables except the one naming the notebook
(``JPY_SESSION_NAME``), no tokens, no git config beyond the remote URL.
Each part can be switched off (``off``: ``env`` = all, ``git``, ``requirements``,
``notebook``, ``host``; the SDK reads them from ``NBTRACK_CAPTURE_<PART>=off``).
It runs in a short-lived thread (``nbtrack-env``) so ``init`` does not wait for
``git`` or the package scan; ``finish`` joins it.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from nbtrack.pipeline.stagethread import StageThread, ThreadedStage
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.version import __version__
from nbtrack.wire.files import METADATA, REQUIREMENTS

log = logging.getLogger("nbtrack.capture.environment")

PublishFiles = Callable[[list[pb.FileItem]], None]



def enabled(part: str, off: frozenset[str] = frozenset()) -> bool:
    """False when ``part`` (or everything, ``env``) is switched off."""
    return "env" not in off and part not in off


def strip_credentials(url: str) -> str:
    """``https://user:token@host/x.git`` → ``https://host/x.git``; scp-style URLs unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if not parts.scheme or not parts.netloc:
        return re.sub(r"^[^@/]*:[^@/]*@", "", url)  # "user:pw@host:path" without a scheme
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _git(*args: str, cwd: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=3.0,
            env={"PATH": os.environ.get("PATH", ""), "GIT_TERMINAL_PROMPT": "0",
                 "HOME": os.environ.get("HOME", "")})
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def git_info(cwd: str | None = None) -> dict[str, str]:
    where = cwd or os.getcwd()
    commit = _git("rev-parse", "HEAD", cwd=where)
    if not commit:
        return {}
    info = {"commit": commit}
    remote = _git("config", "--get", "remote.origin.url", cwd=where)
    if remote:
        info["remote"] = strip_credentials(remote)
    if _git("status", "--porcelain", "--untracked-files=no", cwd=where):
        info["dirty"] = "true"
    return info


def notebook_path(user_ns: dict[str, Any] | None = None) -> str | None:
    """The notebook's path: VS Code's ``__vsc_ipynb_file__``, or Jupyter's ``JPY_SESSION_NAME``."""
    if user_ns is None:
        try:
            from IPython import get_ipython

            ip = get_ipython()
            user_ns = getattr(ip, "user_ns", None) or {}
        except Exception:
            user_ns = {}
    vsc = user_ns.get("__vsc_ipynb_file__")
    if isinstance(vsc, str) and vsc:
        return vsc
    jpy = os.environ.get("JPY_SESSION_NAME")
    if jpy and jpy.endswith(".ipynb"):
        return jpy
    return None


def requirements() -> str:
    from importlib import metadata

    seen: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name and name.lower() not in seen:
            seen[name.lower()] = f"{name}=={dist.version}"
    return "".join(line + "\n" for _, line in sorted(seen.items()))


def collect(program: str = "", user_ns: dict[str, Any] | None = None,
            off: frozenset[str] = frozenset()) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "nbtrack": __version__,
        "python": platform.python_version(),
        "os": platform.platform(),
        "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "program": program,
        "executable": sys.executable,
        "cpu_count": os.cpu_count(),
    }
    if enabled("host", off):
        meta["host"] = socket.gethostname()
    if enabled("notebook", off):
        nb = notebook_path(user_ns)
        if nb:
            meta["notebook"] = nb
            meta["codePath"] = nb
    if enabled("git", off):
        git = git_info()
        if git:
            meta["git"] = git
    return meta


class EnvironmentCapture(ThreadedStage):
    """The ``nbtrack-env`` thread: one pass that writes the files and publishes them."""

    name = "env"

    def __init__(self, run_dir: Path, program: str, publish_files: PublishFiles, *,
                 off: frozenset[str] = frozenset()) -> None:
        self._files_dir = Path(run_dir) / "files"
        self._program = program
        self._publish_files = publish_files
        self._off = off
        self._user_ns = _notebook_namespace()
        self._thread = StageThread(self._work, "nbtrack-env")



    def left(self) -> str:
        return "still collecting" if self._thread.alive else ""

    def _work(self) -> None:
        try:
            self._files_dir.mkdir(parents=True, exist_ok=True)
            items = []
            meta = collect(self._program, self._user_ns, self._off)
            (self._files_dir / METADATA).write_text(json.dumps(meta, indent=2) + "\n")
            items.append(pb.FileItem(path=str(self._files_dir / METADATA), name=METADATA,
                                     policy="now"))
            if enabled("requirements", self._off):
                (self._files_dir / REQUIREMENTS).write_text(requirements())
                items.append(pb.FileItem(path=str(self._files_dir / REQUIREMENTS),
                                         name=REQUIREMENTS, policy="now"))
            self._publish_files(items)
        except Exception:
            log.warning("environment capture failed", exc_info=True)


def _notebook_namespace() -> dict[str, Any]:
    """The one name of the user's namespace that says which notebook runs (VS Code's)."""
    try:
        from IPython import get_ipython

        ip = get_ipython()
        user_ns = dict(getattr(ip, "user_ns", None) or {}) if ip is not None else {}
    except Exception:
        return {}
    return {k: v for k, v in user_ns.items() if k == "__vsc_ipynb_file__"}

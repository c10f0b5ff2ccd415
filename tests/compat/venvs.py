"""Test-only virtual environments for other W&B-speaking programs (never nbtrack dependencies).

The official ``wandb`` client and the ``openwandb`` server are installed from PyPI, each into
its own venv, and only ever run as separate processes. Installs start in background threads
as soon as the compat tests are collected, so the two run in parallel with each other and
with the first tests. A venv is cached between sessions under ``$NBTRACK_COMPAT_VENVS``
(default ``~/.cache/nbtrack/compat-venvs``) and upgraded to the latest release once it is
older than ``MAX_AGE`` seconds, so CI keeps testing against the latest client.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MAX_AGE = 24 * 3600
INSTALL_TIMEOUT = 240.0
# numpy and pillow: wandb.Image / wandb.Histogram need them (tests/media/)
PACKAGES = {"wandb": ["wandb", "numpy", "pillow"], "openwandb": ["openwandb"]}


@dataclass
class Venv:
    name: str
    path: Path
    version: str

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def bin(self, program: str) -> Path:
        return self.path / "bin" / program


class InstallError(RuntimeError):
    """The venv could not be created or the package not installed (the message says why)."""


def cache_root() -> Path:
    default = Path.home() / ".cache" / "nbtrack" / "compat-venvs"
    return Path(os.environ.get("NBTRACK_COMPAT_VENVS") or default)


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(cmd)}\n".encode())
        out.flush()
        try:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise InstallError(f"{cmd[0]} timed out after {INSTALL_TIMEOUT:.0f}s; see {log}") \
                from None
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise InstallError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")


def ensure(name: str) -> Venv:
    """Create or reuse the venv for ``name`` (``wandb`` or ``openwandb``); blocks until ready."""
    packages = PACKAGES[name]
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}-{tag}"
    marker = path / "nbtrack-compat.json"
    log = root / f"{name}-{tag}.log"
    with open(root / f".{name}-{tag}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be installing the same venv
        fresh = (marker.exists() and time.time() - marker.stat().st_mtime < MAX_AGE
                 and json.loads(marker.read_text()).get("packages", packages[:1]) == packages)
        if not fresh:
            log.write_bytes(b"")
            if not (path / "bin" / "python").exists():
                shutil.rmtree(path, ignore_errors=True)
                _run([sys.executable, "-m", "venv", str(path)], log)
            pip = [str(path / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
            _run([*pip, "install", "-q", "--upgrade", *packages], log)
            out = subprocess.run([*pip, "show", packages[0]], capture_output=True, text=True,
                                 check=False).stdout
            version = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                            if ln.startswith("Version:")), "?")
            marker.write_text(json.dumps({"package": packages[0], "version": version,
                                          "packages": packages, "installed": time.time()}))
        version = json.loads(marker.read_text()).get("version", "?")
    return Venv(name, path, version)


class Installs:
    """One background install per venv name; ``get`` waits for it and re-raises its error."""

    def __init__(self) -> None:
        self._threads: dict[str, threading.Thread] = {}
        self._results: dict[str, Venv | BaseException] = {}
        self._lock = threading.Lock()

    def start(self, name: str) -> None:
        with self._lock:
            if name in self._threads:
                return
            t = threading.Thread(target=self._install, args=(name,), daemon=True,
                                 name=f"compat-install-{name}")
            self._threads[name] = t
            t.start()

    def _install(self, name: str) -> None:
        try:
            self._results[name] = ensure(name)
        except BaseException as e:  # reported by get() in the test that needs it
            self._results[name] = e

    def get(self, name: str) -> Venv:
        self.start(name)
        self._threads[name].join(INSTALL_TIMEOUT * 2 + 30)
        result = self._results.get(name)
        if result is None:
            raise InstallError(f"installing {name} did not finish in time")
        if isinstance(result, BaseException):
            raise result
        return result


INSTALLS = Installs()

"""Which server to talk to, and the local one: found, or started, from here only.

:func:`resolve_server` is the one answer to "which server, with which key" for the
SDK, the CLI, :class:`nbtrack.Api` and the Jupyter extension: an explicit URL, else
``NBTRACK_BASE_URL`` (key: explicit, ``NBTRACK_API_KEY`` or ``~/.netrc``), else the
local server and its token.

Kernels share one detached local server per data directory, found through
``<dir>/server/state.json`` (:func:`find_local_server`). Starting is serialized by an
exclusive ``flock`` on ``<dir>/server/launch.lock`` so two kernels starting at once
get the same server (:func:`ensure_local_server`).
"""

from __future__ import annotations

import contextlib
import fcntl
import netrc
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

from nbtrack.wire import datadir, statefile
from nbtrack.wire.datadir import default_root
from nbtrack.wire.discovery import ENV_API_KEY, ENV_BASE_URL, ServerInfo, live


class ServerNotFound(RuntimeError):
    """No live local server, and the caller asked not to start one."""


def state_path(nbtrack_dir: Path) -> Path:
    """The state file through which kernels find the server of ``nbtrack_dir``."""
    return statefile.path(nbtrack_dir)


def resolve_server(
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    local: bool = False,
    nbtrack_dir: Path | None = None,
    start: bool = True,
    timeout: float = 10.0,
) -> tuple[str, str]:
    """``(base_url, api_key)`` of the server to talk to.

    A URL (``base_url``, else ``NBTRACK_BASE_URL``) wins unless ``local`` is True; its
    key is ``api_key``, else ``NBTRACK_API_KEY``, else the host's ``~/.netrc`` entry,
    else ``""``. Without one, the local server of ``nbtrack_dir`` (default: the data
    directory): started when ``start`` (``RuntimeError`` / ``OSError`` if it cannot
    start), else :class:`ServerNotFound`; its key is ``api_key`` or its token.
    """
    url = None if local else base_url or os.environ.get(ENV_BASE_URL)
    if url:
        key = api_key or os.environ.get(ENV_API_KEY) or netrc_key(url) or ""
        return url.rstrip("/"), key
    root = Path(nbtrack_dir) if nbtrack_dir is not None else default_root()
    if start:
        info = ensure_local_server(root, timeout=timeout)
    else:
        found = find_local_server(root)
        if found is None:
            path = state_path(root)
            raise ServerNotFound(
                f"No live server was found through {path}"
                if statefile.read_state(path) is None
                else f"The server named in {path} does not answer."
            )
        info = found
    return info.url.rstrip("/"), api_key or info.token


def netrc_key(base_url: str) -> str | None:
    """The password of ``base_url``'s host in ``~/.netrc`` (where wandb keeps keys)."""
    host = urlsplit(base_url).hostname or ""
    try:
        entry = netrc.netrc().authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    return entry[2] if entry else None


def uses_local_server(base_url: str | None, *, local: bool = False) -> bool:
    """True when :func:`resolve_server` with these arguments answers the local server."""
    return local or not (base_url or os.environ.get(ENV_BASE_URL))


def rediscovery(nbtrack_dir: Path) -> Callable[[], tuple[str, str] | None]:
    """Where the local server of ``nbtrack_dir`` is now (``(url, token)``), or None: for
    a run's client, asked after a connection error (the server died and another kernel's
    :func:`ensure_local_server` may have started a new one, on another port). Never
    starts a server itself: the run must not spawn one from a background thread."""
    root = Path(nbtrack_dir)

    def find() -> tuple[str, str] | None:
        info = find_local_server(root)
        return None if info is None else (info.url.rstrip("/"), info.token)

    return find


def find_local_server(nbtrack_dir: Path) -> ServerInfo | None:
    """The live server named in ``nbtrack_dir``'s state file, or None (never starts one)."""
    return live(statefile.read_state(state_path(nbtrack_dir)))


def server_command(args: list[str]) -> list[str]:
    """The command line that runs the server with ``args``.

    ``nbtrack/__init__`` imports lazily and the server imports only the standard library,
    so this starts in about 0.2 s.
    """
    return [sys.executable, "-m", "nbtrack.server", *args]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _log_tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def ensure_local_server(nbtrack_dir: Path, timeout: float = 10.0) -> ServerInfo:
    """A live local server for ``nbtrack_dir``: the running one, or a new detached one."""
    state_file = state_path(nbtrack_dir)
    server_dir = state_file.parent
    info = live(statefile.read_state(state_file))
    if info is not None:
        return info
    datadir.private_dir(server_dir, tighten=True)  # the log holds a login link
    with _locked(server_dir / "launch.lock"):
        state = statefile.read_state(state_file)
        info = live(state)  # another kernel may have started it while we waited
        if info is not None:
            return info
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()  # stale: its pid is dead or does not answer
        log_path = server_dir / "server.log"
        with os.fdopen(datadir.open_private(log_path), "ab") as logf:
            proc = subprocess.Popen(
                server_command(["--dir", str(nbtrack_dir)]),
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=logf,
                start_new_session=True,
                close_fds=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = statefile.read_state(state_file)
            if state and state.get("pid") == proc.pid:
                info = live(state)
                if info is not None:
                    return info
            if proc.poll() is not None:
                break
            time.sleep(0.01)
        code = proc.poll()
        if code is None:
            proc.kill()
        what = f"exited with code {code}" if code is not None else f"within {timeout:g}s"
        raise RuntimeError(
            f"the nbtrack server did not start ({what}){_disk_trouble(Path(nbtrack_dir))}; "
            f"{log_path} ends with:\n{_log_tail(log_path)}"
        )


def _disk_trouble(directory: Path, low: int = 1 << 20) -> str:
    """A note when ``directory`` has (almost) no free space: a server can't start there."""
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        return ""
    if free >= low:
        return ""
    return f" (No space left on device: {free:,} bytes free under {directory}; free some space)"


def stop_local_server(nbtrack_dir: Path, timeout: float = 5.0) -> bool:
    """SIGTERM the server found in the state file and wait for it; True if one was stopped."""
    state = statefile.read_state(state_path(nbtrack_dir))
    pid = state.get("pid") if state else None
    if not isinstance(pid, int) or not statefile.pid_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not statefile.pid_alive(pid):
            return True
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    return True

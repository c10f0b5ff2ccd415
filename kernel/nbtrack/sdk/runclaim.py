"""One writer per run id on a machine: an exclusive lock held while the run lives.

Two kernels logging to one run id would both post lines at the same offsets; the
server keeps the first line at each offset, so one kernel's rows would vanish while both
print "finished". ``init`` takes ``<NBTRACK_DIR>/locks/run-<id>.lock`` with ``flock``
before it talks to the server; a second writer is refused with the holder's pid and
host. The kernel holds it until the run finished; the OS drops it when the process dies
(a SIGKILLed kernel leaves nothing behind to clean up), which is also how ``init`` tells a
crashed run (its log may be synced, then resumed) from a live one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
from pathlib import Path

_READ_TRIES = 20  # the holder writes its name just after it took the lock
_held: dict[int, Path] = {}  # fd -> lock file, for the fork handler below


def _close_in_child() -> None:
    """A forked child (a DataLoader worker) must not keep its parent's run locked after
    the parent died: close the inherited descriptors (the parent's lock stays)."""
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_in_child)


class RunClaimed(RuntimeError):
    """Another live process logs to this run id; the message names it."""


class RunClaim:
    """The held lock of one run id; ``release()`` once the run finished."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, root: Path, run_id: str) -> RunClaim:
        """Lock run ``run_id`` for this process, or raise :class:`RunClaimed`."""
        locks = root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        path = locks / f"run-{re.sub(r'[^A-Za-z0-9._-]', '_', run_id)}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _holder(path)
            if _dead_here(holder):
                # held by a descriptor a dead kernel's child process inherited before this
                # module closed those at fork: nobody writes the run; go on unlocked
                return cls(path, None)
            raise RunClaimed(_refusal(run_id, holder)) from None
        except BaseException:
            os.close(fd)
            raise
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        _held[fd] = path
        return cls(path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            _held.pop(fd, None)
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # closing drops the flock


def _holder(path: Path) -> dict[str, object]:
    holder: dict[str, object] = {}
    for _ in range(_READ_TRIES):
        try:
            holder = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            holder = {}
        if holder.get("pid"):
            break
        time.sleep(0.05)
    return holder


def _dead_here(holder: dict[str, object]) -> bool:
    pid = holder.get("pid")
    if not isinstance(pid, int) or holder.get("host") != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _refusal(run_id: str, holder: dict[str, object]) -> str:
    who = (f"pid {holder.get('pid')} on {holder.get('host')}" if holder.get("pid")
           else "another process")
    return (f"nbtrack: run {run_id} is being logged right now by {who}; two processes "
            "logging to one run would overwrite each other's rows. Finish it there "
            "first, or use another id.")

"""Module-level entry points: ``init``, ``log``, ``finish`` and the current run."""

from __future__ import annotations

import atexit
import collections
import json
import logging
import os
import socket
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from nbtrack.client.localserver import rediscovery, resolve_server, uses_local_server
from nbtrack.client.wandbclient import WandbClient
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.sdk import exitcode, hooks, kernellogs
from nbtrack.sdk.bounds import check_config_size
from nbtrack.sdk.earlierlogs import EarlierLogNotSynced, sync_earlier_logs
from nbtrack.sdk.liveness import RunLive, check_not_live
from nbtrack.sdk.run import Run
from nbtrack.sdk.runclaim import RunClaim, RunClaimed
from nbtrack.sdk.runstream import InitError, RunStream
from nbtrack.sdk.values import config_value
from nbtrack.settings import Settings, resolve
from nbtrack.txlog.identity import mark_delivered
from nbtrack.wire import datadir

logger = logging.getLogger("nbtrack")

AT_EXIT_TIMEOUT = 10.0

_current: Run | None = None
_open_runs: weakref.WeakSet[Run] = weakref.WeakSet()
_lock = threading.RLock()
_atexit_registered = False
_forked_from: int | None = None
_claims: dict[Run, RunClaim] = {}  # a run -> its lock, released once it finished


def _after_fork_in_child() -> None:
    """A forked child keeps no run of its parent's: their threads stayed in the parent.
    ``init`` starts a fresh run here; the parent's ``Run`` object refuses with a clear error."""
    global _current, _open_runs, _lock, _forked_from
    if _current is not None or len(_open_runs):
        _forked_from = os.getppid()
    _current = None
    _open_runs = weakref.WeakSet()
    _lock = threading.RLock()  # a lock held by another thread at fork time stays held
    _claims.clear()  # the parent's run locks stay the parent's (runclaim.py closes the fds)


os.register_at_fork(after_in_child=_after_fork_in_child)


__all__ = ["InitError", "current_run", "finish", "finish_all", "init", "log"]


def current_run() -> Run | None:
    return _current


def init(project: str | None = None, name: str | None = None,
         config: dict[str, Any] | None = None, mode: str | None = None, id: str | None = None,
         resume: str | bool | None = None, entity: str | None = None,
         tags: list[str] | tuple[str, ...] | None = None, notes: str | None = None,
         group: str | None = None, job_type: str | None = None, base_url: str | None = None,
         api_key: str | None = None, dir: str | os.PathLike[str] | None = None,
         reinit: bool = True, console: str | None = None) -> Run:
    """Start a run and return it; with ``reinit`` the previous run is finished first.

    ``console="off"`` (or ``NBTRACK_CONSOLE=off``) leaves stdout / stderr alone.
    """
    global _current
    settings = resolve(project=project, name=name, mode=mode, id=id, resume=resume,
                       entity=entity, tags=tags, notes=notes, group=group, job_type=job_type,
                       base_url=base_url, api_key=api_key, dir=dir, console=console)
    if config is not None and not isinstance(config, dict):
        config = dict(config)
    checked = {str(k): config_value(str(k), v) for k, v in (config or {}).items()}
    check_config_size(checked)
    with _lock:
        if reinit and _current is not None and _current.state == "running":
            _current.finish()
        run = _start(settings, checked, explicit_id=id is not None)
        _current = run
        _open_runs.add(run)
        _register_atexit()
    hooks.emit("run_init", run)
    return run


def _run_record(settings: Settings, config: dict[str, Any]) -> pb.RunRecord:
    return pb.RunRecord(
        run_id=settings.run_id, entity=settings.entity, project=settings.project,
        display_name=settings.name, notes=settings.notes, tags=list(settings.tags),
        group=settings.group, job_type=settings.job_type, config_json=json.dumps(config),
        start_time=time.time(), resume=settings.resume or "", host=socket.gethostname(),
        program=_program_name())


def _start(settings: Settings, config: dict[str, Any], *, explicit_id: bool = False) -> Run:
    """Start the run's pipeline and capture (one phase), then hand them to the Run."""
    record = _run_record(settings, config)
    pending: collections.deque[str] = collections.deque()
    if settings.mode == "disabled":
        return Run(settings, None, record, config, pending)
    try:
        datadir.private_dir(settings.run_dir)  # 0700: the logs hold every value logged
    except OSError as exc:
        raise InitError(f"nbtrack: cannot create the run directory {settings.run_dir}: "
                        f"{exc.strerror or exc}. Set NBTRACK_DIR (or dir=) to a writable "
                        "directory.") from exc
    claim = _claim(settings)
    kernellogs.route_to_run(settings.run_dir)
    try:
        transport = _transport(settings)
        if transport is not None and explicit_id:
            _check_not_live(settings, transport)
        if transport is not None and settings.resume in ("allow", "must"):
            _sync_earlier(settings, transport)
        stream = RunStream.start(settings, record, transport, pending.append)
    except BaseException:
        claim.release()
        raise
    run = Run(settings, stream, stream.record, config, pending)
    _claims[run] = claim
    return run


def _claim(settings: Settings) -> RunClaim:
    """This process's lock on the run id (see ``runclaim.py``), or InitError."""
    hooks.register("run_finish", _after_finish)
    try:
        return RunClaim.take(settings.root, settings.run_id)
    except RunClaimed as exc:
        raise InitError(str(exc)) from None
    except OSError as exc:
        raise InitError(f"nbtrack: cannot lock run {settings.run_id} under {settings.root}: "
                        f"{exc.strerror or exc}") from exc


def _check_not_live(settings: Settings, transport: WandbClient) -> None:
    """A run id given by the user may be live in a kernel this machine's lock cannot see."""
    try:
        check_not_live(transport, entity=settings.entity, project=settings.project,
                       run_id=settings.run_id, runs_root=settings.run_dir.parent)
    except RunLive as exc:
        transport.close()
        raise InitError(str(exc)) from None


def _sync_earlier(settings: Settings, transport: WandbClient) -> None:
    try:
        sync_earlier_logs(settings.run_dir.parent, settings.run_id, settings.base_url or "",
                          settings.api_key or "")
    except EarlierLogNotSynced as exc:
        transport.close()
        raise InitError(str(exc)) from None


def _after_finish(run: Any) -> None:
    """A finished run lets go of its id; a run whose server has every line says so."""
    claim = _claims.pop(run, None)
    if claim is None:
        return
    try:
        if run.state in ("finished", "failed") and run.mode in ("online", "local"):
            mark_delivered(run.log_path)
    except OSError:
        logger.warning("could not mark %s as delivered", run.log_path, exc_info=True)
    finally:
        claim.release()


def _transport(settings: Settings) -> WandbClient | None:
    """The run's W&B client (None offline); fills in the server and key it resolved."""
    if settings.mode == "offline":
        return None
    local = settings.mode == "local"  # the local server's own token, whatever the env says
    try:
        url, key = resolve_server(settings.base_url, None if local else settings.api_key,
                                  local=local, nbtrack_dir=settings.root)
    except (OSError, RuntimeError) as exc:
        raise InitError(f"nbtrack: could not start the local server under {settings.root}: "
                        f"{exc}. Use mode='offline' to log without a server.") from exc
    if not key:
        raise InitError(f"nbtrack: no API key for {url}: pass api_key=..., set "
                        "NBTRACK_API_KEY or add the host to ~/.netrc")
    rediscover = (rediscovery(settings.root)
                  if uses_local_server(settings.base_url, local=local) else None)
    settings.base_url, settings.api_key = url, key
    return WandbClient(url, key, timeout=settings.tuning.http_timeout, rediscover=rediscover)


def _program_name() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).name if path else "<notebook>"


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log to the current run (``nbtrack.init`` first)."""
    run = _current
    if run is None:
        if _forked_from is not None:
            raise RuntimeError(
                f"nbtrack.log() in a process forked from {_forked_from}: the parent's run "
                "stays with the parent; call nbtrack.init() here to start a run of this "
                "process's own")
        raise RuntimeError("nbtrack.log() before nbtrack.init(): start a run first")
    run.log(data, step=step, commit=commit)


def finish(exit_code: int = 0, timeout: float | None = None, quiet: bool = False) -> None:
    """Finish the current run, if any."""
    run = _current
    if run is not None:
        run.finish(exit_code=exit_code, timeout=timeout, quiet=quiet)


def finish_all(timeout: float = AT_EXIT_TIMEOUT, exit_code: int = 0) -> None:
    """Finish every open run, sharing one time budget (kernel exit, extension unload)."""
    deadline = time.monotonic() + timeout
    for run in list(_open_runs):
        if run.state == "running":
            try:
                run.finish(exit_code=exit_code, timeout=max(deadline - time.monotonic(), 0.5),
                           quiet=True)
            except Exception:
                logger.exception("finishing run %s at exit failed", run.id)


def _finish_at_exit() -> None:
    finish_all(exit_code=exitcode.at_exit())


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_finish_at_exit)
        exitcode.watch_cells()
        _atexit_registered = True

"""``%load_ext nbtrack`` / ``%unload_ext nbtrack``: everything registered here is removed
again on unload, so ``%reload_ext`` leaves no thread, hook or widget behind."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbtrack.sdk.view import RunView

log = logging.getLogger("nbtrack.notebook")

INTERRUPT_NOTE = ("cell interrupted: the run is still running; log more or "
                  "%track_finish")

_loaded: dict[str, Any] = {}  # "shell" -> the shell the extension is loaded into


def on_run_init(run: RunView) -> None:
    """``run_init`` hook: show the run's widget in the cell that started it. Never raises."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None or run.mode == "disabled":
            return
        from nbtrack.notebook.widget import RunWidget

        display(RunWidget(run))
    except Exception:
        log.debug("showing the run widget failed", exc_info=True)


def post_run_cell(*args: Any, **kwargs: Any) -> None:
    """After a cell: an interrupted training loop leaves a note in the run's widget.

    Accepts any arguments (IPython versions differ) and never raises."""
    try:
        result = args[0] if args else kwargs.get("result")
        error = getattr(result, "error_in_exec", None)
        if not isinstance(error, KeyboardInterrupt):
            return
        from nbtrack.notebook.widget import widget_for
        from nbtrack.sdk.session import current_run

        run = current_run()
        widget = widget_for(run) if run is not None and run.state == "running" else None
        if widget is not None:
            widget.add_message(INTERRUPT_NOTE)
    except Exception:
        log.debug("post_run_cell hook failed", exc_info=True)


_EVENTS = {"post_run_cell": post_run_cell}
_HOOKS = {"run_init": on_run_init}


def load(ip: Any) -> None:
    """Register magics, IPython events and nbtrack hooks (idempotent)."""
    from nbtrack.notebook import widget
    from nbtrack.notebook.magics import NbtrackMagics
    from nbtrack.sdk import hooks

    if _loaded.get("shell") is ip:
        return
    if _loaded.get("shell") is not None:
        unload(_loaded["shell"])
    ip.register_magics(NbtrackMagics)
    for event, fn in _EVENTS.items():
        ip.events.register(event, fn)
    for name, fn in _HOOKS.items():
        hooks.register(name, fn)
    hooks.set_live_view(widget.live_bundle)
    _loaded["shell"] = ip


def _unregister_magics(ip: Any) -> None:
    from nbtrack.notebook.magics import NbtrackMagics

    manager = ip.magics_manager
    table: dict[str, dict[str, Any]] = NbtrackMagics.magics  # type: ignore[assignment,unused-ignore]
    for kind, names in table.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(NbtrackMagics.__name__, None)


def unload(ip: Any) -> None:
    """Finish the open run, close widgets (their UI threads end), remove everything."""
    from nbtrack.notebook import widget
    from nbtrack.sdk import hooks
    from nbtrack.sdk.session import current_run

    for name, fn in _HOOKS.items():
        hooks.unregister(name, fn)
    hooks.set_live_view(None)
    for event, fn in _EVENTS.items():
        with contextlib.suppress(ValueError):  # not registered (another shell)
            ip.events.unregister(event, fn)
    try:
        _unregister_magics(ip)
    finally:
        run = current_run()
        try:
            if run is not None and run.state == "running":
                run.finish()
        finally:
            widget.close_all()
            _loaded.pop("shell", None)

"""What the notebook layer reads from a run, named once: ``RunInfo`` and ``RunView``.

Why Protocols: the widget, its UI thread, the display forms and ``%track_status`` read the
same few attributes of a run. Naming them here lets mypy check every reader against
``Run`` (which implements both), and lets a test hand in any small object with these
attributes, where ``getattr(run, "x", default)`` chains hid a typo behind the default.

- :class:`RunInfo`: identity and outcome, all the static forms need (text, HTML card,
  the widget's ``info`` trait). :class:`RunCard` is a frozen snapshot of it.
- :class:`RunView`: a live run as the widget's UI thread and ``%track_status`` see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from nbtrack.sdk.events import Listener

__all__ = ["RunCard", "RunInfo", "RunView"]


@runtime_checkable
class RunInfo(Protocol):
    """A run's identity and state; what its text and HTML forms show."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def project(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def url(self) -> str: ...  # "" without a server
    @property
    def mode(self) -> str: ...  # local | online | offline | disabled
    @property
    def state(self) -> str: ...  # running | finishing | finished | failed | detached
    @property
    def sync_command(self) -> str | None: ...  # set when what was logged is not all sent


@runtime_checkable
class RunView(RunInfo, Protocol):
    """A live run: what the widget's UI thread polls and ``%track_status`` prints.

    The queries never block beyond ``timeout`` and return None when the pipeline did
    not answer (see ``docs/contracts.md``, "User API")."""

    @property
    def start_time(self) -> float: ...  # unix seconds
    @property
    def exit_code(self) -> int | None: ...
    @property
    def log_path(self) -> Path: ...  # the run's transaction log
    @property
    def stop_requested(self) -> bool: ...
    @property
    def summary(self) -> Mapping[str, Any]: ...

    def sampled_history(self, keys: list[str] | None = None,
                        timeout: float = 1.0) -> dict[str, Any] | None: ...

    def network_status(self, timeout: float = 1.0) -> dict[str, Any] | None: ...

    def system_metrics(self) -> Mapping[str, Any]: ...

    def add_listener(self, fn: Listener) -> Callable[[], None]: ...


@dataclass(frozen=True)
class RunCard:
    """A snapshot of a run's :class:`RunInfo`: the widget's card once its run is gone."""

    id: str = ""
    name: str = ""
    project: str = ""
    entity: str = ""
    url: str = ""
    mode: str = ""
    state: str = "running"
    sync_command: str | None = None

    @classmethod
    def of(cls, run: RunInfo) -> RunCard:
        return cls(run.id, run.name, run.project, run.entity, run.url or "", run.mode,
                   run.state, run.sync_command)

    def info(self) -> dict[str, str]:
        """The widget's ``info`` trait: the fields that never change during a run."""
        return {"id": self.id, "name": self.name, "project": self.project,
                "entity": self.entity, "url": self.url, "mode": self.mode}

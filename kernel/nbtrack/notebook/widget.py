"""``RunWidget``: the live view of one run (Python side; the front end is in ``js/``).

Why ``series`` is special: the trait is the ``SeriesMirror`` (``series.py``) and is never
re-assigned, so no trait update ever carries it. Its state form (the comm's open message,
a front end's ``request_state`` after a reload) is the whole mirror as one binary patch;
while the run streams, the UI thread sends small binary patches as custom messages. A
front end that missed one asks for a whole patch (``{"nbtrack": "snapshot"}``). One lock
orders both, so a whole patch always holds exactly the patches sent before it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from nbtrack.notebook.series import SeriesMirror
from nbtrack.sdk import display
from nbtrack.sdk.view import RunCard, RunInfo, RunView

if TYPE_CHECKING:
    from nbtrack.notebook.ui import RunUpdater

_STATIC = Path(__file__).with_name("static")

MAX_MESSAGES = 20

_LIVE: list[RunWidget] = []
_LIVE_LOCK = threading.Lock()


def _asset(name: str) -> Path:
    """A built front-end file (``npm run build`` in ``js/`` writes them; the package ships
    them). A missing one is an install or checkout error, not something to paper over."""
    path = _STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"the nbtrack widget's front end is missing: {path} (the package ships it; in a "
            "source checkout run `npm ci && npm run build` in js/)")
    return path


def run_info(run: RunInfo) -> dict[str, str]:
    """The ``info`` trait: identity fields that never change during a run."""
    return RunCard.of(run).info()


def _series_state(mirror: SeriesMirror, _widget: Any) -> dict[str, Any]:
    return mirror.full().state()


class RunWidget(anywidget.AnyWidget):
    """Live run view; one ``nbtrack-ui`` thread (see ``ui.py``) keeps it current."""

    _esm = _asset("widget.js")
    _css = _asset("widget.css")

    info = traitlets.Dict().tag(sync=True)
    state = traitlets.Unicode("running").tag(sync=True)
    network = traitlets.Dict().tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    series = traitlets.Instance(SeriesMirror, args=()).tag(sync=True, to_json=_series_state)
    finish = traitlets.Dict().tag(sync=True)
    summary = traitlets.Dict().tag(sync=True)
    sync_command = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    messages = traitlets.List(traitlets.Unicode()).tag(sync=True)
    # system metrics: {key: {"t": [runtime s...], "v": [...], "last": x}} (a few keys)
    system = traitlets.Dict().tag(sync=True)
    # the newest media value of each key (notebook/media.py): paths, captions, bins; the
    # front end loads files by URL and older steps from the server
    media = traitlets.Dict().tag(sync=True)

    def __init__(self, run: RunView | None = None, *, start: bool = True,
                 interval: float | None = None, **kwargs: Any) -> None:
        self._sync_lock = threading.RLock()
        self.patches = 0  # series patches sent (tests, docs)
        super().__init__(**kwargs)
        self.on_msg(self._on_front_end)
        self.run = run
        self.updater: RunUpdater | None = None
        if run is None:
            return
        self.info = run_info(run)
        self.state = run.state or "running"
        with _LIVE_LOCK:
            _LIVE.append(self)
        if start:
            from nbtrack.notebook.ui import RunUpdater

            self.updater = RunUpdater(run, self) if interval is None else RunUpdater(
                run, self, interval=interval)
            self.updater.start()

    # ---- sending -------------------------------------------------------------------------

    def apply(self, changes: dict[str, Any]) -> None:
        """Set several traits as ONE comm message."""
        if not changes or self.comm is None:
            return
        with self._sync_lock, self.hold_sync():
            for name, value in changes.items():
                setattr(self, name, value)

    def push_series(self, series: dict[str, Any], *, rebuild: bool = False) -> bool:
        """Fold the changed keys of the sampled history in and send the patch (if any)."""
        with self._sync_lock:
            patch = self.series.update(series, rebuild=rebuild)
            if patch is None or self.comm is None:
                return False
            self.send(patch.content(), buffers=patch.buffers())
            self.patches += 1
            return True

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        """Under the lock: the ``series`` state never sees a patch half made."""
        with self._sync_lock:
            return dict(super().get_state(key, drop_defaults))

    def send_state(self, key: Any = None) -> None:
        """Under the lock from reading to sending: no patch goes out between the two (the
        answer to a reloaded page's ``request_state`` holds every patch sent before it)."""
        with self._sync_lock:
            super().send_state(key)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A front end missed a patch (or has none yet): send the whole copy."""
        if isinstance(content, dict) and content.get("nbtrack") == "snapshot":
            with self._sync_lock:
                if self.comm is not None:
                    patch = self.series.full()
                    self.send(patch.content(), buffers=patch.buffers())

    def add_message(self, text: str) -> None:
        """Show a short note (warning, interruption) in the widget; newest last."""
        with self._sync_lock:
            self.messages = [*self.messages, str(text)][-MAX_MESSAGES:]

    # ---- display -------------------------------------------------------------------------

    def __repr__(self) -> str:
        name = self.info.get("name") or self.info.get("id") or "?"
        return f"nbtrack run {name} ({self.info.get('project', '?')}) — {self.state}"

    def _html(self) -> str:
        card = RunCard(**self.info, state=self.state, sync_command=self.sync_command or None)
        return display.run_html(card, self.summary or None)

    def mimebundle(self) -> dict[str, Any]:
        """text/plain, text/html and (while the comm is open) the widget view."""
        data: dict[str, Any] = {"text/plain": repr(self), "text/html": self._html()}
        if self.comm is not None:
            data["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2, "version_minor": 1, "model_id": self.model_id}
        return data

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.mimebundle(), {}

    # ---- life ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the UI thread first, so nothing writes to a closed comm."""
        updater = getattr(self, "updater", None)  # close() may run before __init__ set it
        if updater is not None:
            updater.stop()
            if threading.current_thread() is not updater.thread:
                updater.join(2.0)
        with _LIVE_LOCK:
            if self in _LIVE:
                _LIVE.remove(self)
        super().close()


def widget_for(run: RunInfo) -> RunWidget | None:
    """The widget currently showing ``run``, if any."""
    run_id = run.id
    with _LIVE_LOCK:
        found = [w for w in _LIVE if w.run is run or w.info.get("id") == run_id]
    return found[-1] if found and found[-1].comm is not None else None


def live_bundle(run: RunInfo) -> dict[str, Any] | None:
    """The mime bundle of the widget showing ``run`` (the run's repr uses it), or None."""
    live = widget_for(run)
    return None if live is None else live.mimebundle()


def live_widgets() -> list[RunWidget]:
    with _LIVE_LOCK:
        return list(_LIVE)


def close_all() -> None:
    """Close every run widget (unload, kernel exit); their threads end with them."""
    for w in live_widgets():
        try:
            w.close()
        except Exception:  # closing must go on for the others
            logging.getLogger("nbtrack.ui").debug("closing a widget failed", exc_info=True)

"""Resolve a run's settings: explicit arguments beat NBTRACK_* variables beat defaults."""

from __future__ import annotations

import logging
import os
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

from nbtrack.wire.datadir import default_root
from nbtrack.wire.discovery import ENV_API_KEY, ENV_BASE_URL
from nbtrack.wire.names import name_problem

log = logging.getLogger("nbtrack.settings")

MODES = ("local", "online", "offline", "disabled")
RESUME_CHOICES = (None, "allow", "must", "never")
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


def new_run_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def _pick(explicit: str | None, env_name: str, default: str | None = None) -> str | None:
    if explicit is not None:
        return explicit
    return os.environ.get(env_name) or default


_OFF = ("off", "0", "false", "no", "none")
CAPTURE_PARTS = ("env", "git", "requirements", "notebook", "host")


@dataclass(frozen=True)
class Tuning:
    """Knobs most runs never touch, read once from ``NBTRACK_*`` (and ``init(console=)``).

    The SDK turns them into the pipeline's and the capture threads' configuration;
    nothing below the SDK reads the environment.
    """

    max_unsent_mb: float = 16.0  # NBTRACK_MAX_PENDING_MB: unsent lines held in memory
    stop_poll_interval: float = 10.0  # NBTRACK_STOP_POLL_INTERVAL (s)
    stats_interval: float = 10.0  # NBTRACK_STATS_INTERVAL (s); 0 or "off": no system metrics
    console: bool = True  # init(console=) > NBTRACK_CONSOLE: record stdout / stderr
    capture_off: frozenset[str] = frozenset()  # NBTRACK_CAPTURE_<PART>=off ("env": all)
    http_timeout: float = 10.0  # NBTRACK_HTTP_TIMEOUT (s): one request's read timeout
    fsync_interval: float = 5.0  # NBTRACK_FSYNC_INTERVAL (s): the machine-crash bound
    ring_mb: float = 16.0  # NBTRACK_RING_MB: the write-ahead ring (allocated, resident)


def _env_number(name: str, default: float, *, off_means_zero: bool = False) -> float:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if off_means_zero and raw in _OFF:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        log.warning("%s=%r is not a non-negative number; using %s", name, raw, default)
        return default
    return value


def read_tuning(*, console: str | None = None) -> Tuning:
    """The knobs from the environment; ``console`` (an ``init`` argument) beats it."""
    chosen_console = console if console is not None else os.environ.get("NBTRACK_CONSOLE", "auto")
    unsent_mb = _env_number("NBTRACK_MAX_PENDING_MB", Tuning.max_unsent_mb)
    return Tuning(
        max_unsent_mb=unsent_mb or Tuning.max_unsent_mb,  # 0 would spill every line
        stop_poll_interval=_env_number("NBTRACK_STOP_POLL_INTERVAL", Tuning.stop_poll_interval),
        stats_interval=_env_number("NBTRACK_STATS_INTERVAL", Tuning.stats_interval,
                                   off_means_zero=True),
        console=str(chosen_console).strip().lower() not in _OFF,
        capture_off=frozenset(part for part in CAPTURE_PARTS
                              if os.environ.get(f"NBTRACK_CAPTURE_{part.upper()}", "")
                              .strip().lower() in _OFF),
        http_timeout=_positive_float("NBTRACK_HTTP_TIMEOUT", Tuning.http_timeout),
        fsync_interval=_env_number("NBTRACK_FSYNC_INTERVAL", Tuning.fsync_interval),
        ring_mb=max(_env_number("NBTRACK_RING_MB", Tuning.ring_mb), 1.0),
    )


@dataclass
class Settings:
    """Everything a run needs to know before it starts; built by ``resolve``."""

    mode: str
    project: str
    entity: str
    run_id: str
    name: str
    root: Path
    run_dir: Path
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    resume: str | None = None
    tags: tuple[str, ...] = ()
    notes: str = ""
    group: str = ""
    job_type: str = ""
    init_timeout: float = 30.0
    finish_timeout: float = 60.0
    tuning: Tuning = field(default_factory=Tuning)

    @property
    def log_path(self) -> Path:
        return self.run_dir / f"run-{self.run_id}.nbtrack"


def resolve(
    *,
    project: str | None = None,
    name: str | None = None,
    mode: str | None = None,
    id: str | None = None,
    resume: str | bool | None = None,
    entity: str | None = None,
    tags: list[str] | tuple[str, ...] | None = None,
    notes: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    console: str | None = None,
) -> Settings:
    """Validate the user's choices; raises ValueError naming the bad argument."""
    url = _pick(base_url, ENV_BASE_URL)
    # A server given by argument or environment means online, unless a mode says otherwise.
    chosen_mode = _pick(mode, "NBTRACK_MODE", "online" if url else "local")
    assert chosen_mode is not None
    if chosen_mode not in MODES:
        raise ValueError(f"mode={chosen_mode!r}: expected one of {', '.join(MODES)}")
    if resume is True:
        resume = "allow"
    elif resume is False:
        resume = None
    if resume not in RESUME_CHOICES:
        raise ValueError(f"resume={resume!r}: expected None, 'allow', 'must' or 'never'")
    if resume is not None and not id:
        raise ValueError(f"resume={resume!r} needs the id of the run to resume (id=...)")
    if id is not None and not _ID_RE.match(id):
        raise ValueError(f"id={id!r}: use 1-64 letters, digits, '_', '.' or '-'")
    chosen_project = _pick(project, "NBTRACK_PROJECT", "uncategorized") or "uncategorized"
    if not _NAME_RE.match(chosen_project):
        raise ValueError(f"project={chosen_project!r}: use 1-128 letters, digits, '_', '.' or '-'")
    if name is not None and name != "" and (why := name_problem(name)) is not None:
        shown = name[:40] + "..." if isinstance(name, str) and len(name) > 40 else name
        raise ValueError(f"name={shown!r}: it {why}")
    chosen_entity = _pick(entity, "NBTRACK_ENTITY", "") or ""
    if chosen_entity and not _NAME_RE.match(chosen_entity):
        raise ValueError(f"entity={chosen_entity!r}: use 1-128 letters, digits, '_', '.' or '-'")
    if chosen_mode == "online" and not url:
        raise ValueError("mode='online' needs a server: pass base_url=... or set NBTRACK_BASE_URL")
    key = _pick(api_key, ENV_API_KEY)
    root = default_root()
    run_id = id or new_run_id()
    runs_root = Path(dir).expanduser() if dir is not None else root / "runs"
    run_dir = runs_root / f"run-{time.strftime('%Y%m%d_%H%M%S')}-{run_id}"
    suffix = 1
    while run_dir.exists():
        run_dir = runs_root / f"run-{time.strftime('%Y%m%d_%H%M%S')}-{run_id}-{suffix}"
        suffix += 1
    return Settings(
        mode=chosen_mode,
        project=chosen_project,
        entity=chosen_entity,
        run_id=run_id,
        name=name or run_id,
        root=root,
        run_dir=run_dir,
        base_url=url.rstrip("/") if url else None,
        api_key=key,
        resume=resume,
        tags=tuple(tags or ()),
        notes=notes or "",
        group=group or "",
        job_type=job_type or "",
        # W&B's WANDB_INIT_TIMEOUT: how long init waits for the server before going on
        init_timeout=_positive_float("NBTRACK_INIT_TIMEOUT", Settings.init_timeout),
        tuning=read_tuning(console=console),
    )


def _positive_float(env_name: str, default: float) -> float:
    """A tuning knob from the environment; a bad value is logged and the default kept,
    like the other ``NBTRACK_*`` knobs (a typo there must not stop a run)."""
    raw = os.environ.get(env_name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        log.warning("%s=%r is not a positive number of seconds; using %s", env_name, raw, default)
        return default
    return value

"""Console capture: a tee on ``sys.stdout`` / ``sys.stderr`` while a run is active.

What the user sees is unchanged: every write goes to the stream that was there
before, first. A copy is cut into lines and published as ``OutputRecord``s
(one record per write that completes lines, so a ``print`` costs one queue put).

- Carriage returns (tqdm) collapse: only the text after the last ``\\r`` of a line
  is kept, so a progress bar leaves its final state, not every redraw.
- Bounded: a line longer than ``MAX_LINE_CHARS`` is cut with a marker; after
  ``max_lines`` lines one marker line says the rest was not recorded.
- Threads: any thread writing to ``sys.stdout`` goes through the tee, so output
  of the user's background threads is recorded with the run that installed it.
- Uninstall restores exactly what was there. If someone replaced ``sys.stdout``
  meanwhile (and may hold our tee), the tee stays in place but stops recording.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

log = logging.getLogger("nbtrack.capture.console")

MAX_LINE_CHARS = 16_384
DEFAULT_MAX_LINES = 100_000

# (lines, stderr, timestamp) -> None; publishes the lines (never raises)
Publish = Callable[[list[str], bool, float], None]


class _Tee:
    """A text stream that forwards to ``target`` and records complete lines."""

    def __init__(self, target: TextIO, capture: ConsoleCapture, stderr: bool) -> None:
        self._target = target
        self._capture = capture
        self._stderr = stderr
        self._partial = ""  # text of the line in progress (after the last \r)
        self._lock = threading.Lock()
        self.active = True

    # forward everything we do not implement (encoding, isatty, fileno, session, ...)
    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)

    def write(self, s: str) -> int:
        try:
            n = self._target.write(s)
        finally:  # recorded even when the front end's stream fails (or drops thread output)
            if self.active and s:
                try:
                    self._record(s)
                except Exception:  # recording must never break the user's print
                    log.debug("console capture failed", exc_info=True)
        return n if isinstance(n, int) else len(s)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._target.flush()

    def _record(self, s: str) -> None:
        # nbtrack's own threads (a logging warning of the sender) are not the user's output,
        # and a stage blocked on its own queue through the tee could deadlock the pipeline
        if self._capture.reentrant() or threading.current_thread().name.startswith("nbtrack-"):
            return
        with self._lock:
            text = self._partial + s
            parts = text.split("\n")
            self._partial = _collapse(parts.pop())
            if len(self._partial) > MAX_LINE_CHARS:  # a huge write without newline
                parts.append(self._partial)
                self._partial = ""
            done = [_bound(_collapse(p)) for p in parts]
        if done:
            self._capture.emit(done, self._stderr)

    def drain(self) -> None:
        """Record the unfinished last line (at uninstall)."""
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self._capture.emit([_bound(rest)], self._stderr)


def _collapse(line: str) -> str:
    """The state a terminal shows: the text after the last carriage return."""
    if "\r" not in line:
        return line
    stripped = line.rstrip("\r")
    return stripped.rsplit("\r", 1)[-1] if stripped else ""


def _bound(line: str) -> str:
    if len(line) <= MAX_LINE_CHARS:
        return line
    cut = len(line) - MAX_LINE_CHARS
    return f"{line[:MAX_LINE_CHARS]} [nbtrack: line truncated, {cut} more characters]"


class ConsoleCapture:
    """Installs tees on stdout and stderr for one run; ``uninstall`` is safe twice."""

    def __init__(self, publish: Publish, *, max_lines: int = DEFAULT_MAX_LINES) -> None:
        self._publish = publish
        self.max_lines = max_lines
        self.lines = 0
        self._count_lock = threading.Lock()
        self._busy = threading.local()
        self._out: _Tee | None = None
        self._err: _Tee | None = None
        self._orig_out: Any = None
        self._orig_err: Any = None

    def install(self) -> None:
        if self._out is not None:
            return
        self._orig_out, self._orig_err = sys.stdout, sys.stderr
        if self._orig_out is not None:
            self._out = _Tee(self._orig_out, self, stderr=False)
            sys.stdout = self._out
        if self._orig_err is not None:
            self._err = _Tee(self._orig_err, self, stderr=True)
            sys.stderr = self._err

    def uninstall(self) -> None:
        """Stop recording and put back what was there, unless it was replaced meanwhile."""
        for tee, name, orig in ((self._out, "stdout", self._orig_out),
                                (self._err, "stderr", self._orig_err)):
            if tee is None or not tee.active:
                continue
            tee.drain()
            tee.active = False
            if getattr(sys, name) is tee:
                setattr(sys, name, orig)
            # else: someone installed their own stream on top of ours; it may forward to
            # our tee, which now only passes writes through to the original.

    def reentrant(self) -> bool:
        return bool(getattr(self._busy, "on", False))

    def emit(self, lines: list[str], stderr: bool) -> None:
        with self._count_lock:
            room = self.max_lines - self.lines
            if room <= 0:
                return
            if len(lines) >= room:
                lines = [*lines[: room - 1],
                         f"[nbtrack: console output truncated after {self.max_lines - 1} "
                         "lines; the rest was shown but not recorded]"]
            self.lines += len(lines)
        self._busy.on = True
        try:
            self._publish(lines, stderr, time.time())
        except Exception:
            log.debug("publishing console output failed", exc_info=True)
        finally:
            self._busy.on = False

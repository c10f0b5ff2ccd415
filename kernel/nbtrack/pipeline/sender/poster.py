"""The ``nbtrack-filestream`` thread: posts the run's lines to ``file_stream``, in order.

The sender thread hands lines over with ``add_history`` / ``add_event`` /
``add_output`` / ``set_summary`` (a few list operations under the lock); they wait
in a :class:`LineBuffer`. The poster posts them at most every ``post_interval``
seconds (at once when a full post is waiting), at most ``max_post_bytes`` per
post, each file at its offset. With nothing to send, an empty post every
``heartbeat_interval`` seconds keeps the run alive on the server.

Posting starts once run control says the run exists on the server (``open``);
``finish`` sends everything and the final post (``complete`` + exit code);
``end`` is the end marker: one last best-effort post, then the thread ends.

Retries happen inside the transport with the same body and sequence number, so a
re-sent batch carries the same offsets and the server stores each line once, and a
late copy of an old summary never replaces a newer one (``wire/ordering.py``). A post
refused for good is decided by ``client.policy.refusal``: 413 splits it; anything else
leaves its lines in the transaction log, not stored, without reusing their offsets. Over the memory
budget, lines that are also in the transaction log are left there and read back
(``flowcontrol.py``), so ``log()`` never waits for the network; without a log
(``tail=None``) adding waits for room instead.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from nbtrack.client.errors import TransportError
from nbtrack.client.policy import KEY_REFUSED, refusal
from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.sender.filestream_wire import RunIdentity, encode_post
from nbtrack.pipeline.sender.flowcontrol import LogTail, read_back
from nbtrack.pipeline.sender.linebuffer import Batch, LineBuffer
from nbtrack.pipeline.stagethread import StageThread, ThreadedStage
from nbtrack.wire.files import EVENTS, HISTORY, OUTPUT, SUMMARY
from nbtrack.wire.ordering import next_seq
from nbtrack.wire.output import format_line

log = logging.getLogger("nbtrack.pipeline.sender.poster")


@dataclass
class _Finish:
    exit_code: int | None
    complete: bool  # False: post every line but not the final "complete" (a crashed run)
    done: threading.Event = field(default_factory=threading.Event)


class FileStreamPoster(ThreadedStage):
    """See the module docstring. Thread-safe: one lock guards the line buffer and flags."""

    name = "filestream"

    def __init__(self, transport: WandbClient, *, post_interval: float = 1.0,
                 max_post_bytes: int = 4 << 20, max_held_bytes: int = 16 << 20,
                 heartbeat_interval: float = 15.0, tail: LogTail | None = None,
                 stop_requested: threading.Event | None = None) -> None:
        self._t = transport
        # set when an answer says ``stopped: true`` (W&B's stop signal, as wandb-core reads it)
        self._stop_requested = stop_requested
        self._tail = tail
        self.post_interval = post_interval
        self.heartbeat_interval = heartbeat_interval
        self._cv = threading.Condition(threading.Lock())
        self._buf = LineBuffer(max_held_bytes=max_held_bytes, max_post_bytes=max_post_bytes,
                               can_spill=tail is not None)
        # guarded by _cv
        self._ident: RunIdentity | None = None
        self._offsets_set = False
        self._failed = False
        self._finish: _Finish | None = None
        self._ending = False
        self._finished = False  # after finish: no more posts, no heartbeats
        self._warned_full = False
        self.posts = 0
        self.final_acked = False  # the server acknowledged the final post
        self.not_stored_reason = ""  # why the first lines refused for good were refused
        self._key_refused = False  # a post was refused for the key (later ones log at DEBUG)
        self._last_post = 0.0
        self._ended = threading.Event()
        self._thread = StageThread(self._loop, "nbtrack-filestream")

    # ------------------------------------------------------------------ life

    def end(self) -> None:
        """The end marker: post what is pending once more (best effort), then stop."""
        with self._cv:
            self._ending = True
            self._cv.notify_all()



    def left(self) -> str:
        with self._cv:
            n = self._buf.pending_lines
        return f"{n} lines not acknowledged" if n else ""

    # ------------------------------------------------------------------ lines (sender thread)
    # ``start``: the line index the record says it starts at (replay), else None
    def add_history(self, rows: list[str], nbytes: int, num: int = 0,
                    start: int | None = None) -> None:
        """Rows (JSON strings) for ``wandb-history.jsonl``; ``num`` is the record's number."""
        self._add(HISTORY, rows, nbytes, num, start)

    def add_event(self, line: str, num: int = 0, start: int | None = None) -> None:
        """A system-metrics row for ``wandb-events.jsonl``."""
        self._add(EVENTS, [line], len(line), num, start)

    def add_output(self, line: str, stderr: bool, timestamp: float, num: int = 0,
                   start: int | None = None) -> None:
        """A console line for ``output.log``."""
        text = format_line(line, stderr, timestamp)
        self._add(OUTPUT, [text], len(text), num, start)

    def set_summary(self, full_json: str) -> None:
        """The summary to post (the latest replaces one not yet sent)."""
        with self._cv:
            self._buf.set_summary(full_json)
            self._cv.notify_all()

    def _add(self, name: str, lines: list[str], nbytes: int, num: int,
             start: int | None = None) -> None:
        buf = self._buf
        with self._cv:
            was_spilling = buf.spilling
            if buf.leave_in_log(num, len(lines), nbytes):
                if not was_spilling:
                    log.info("file_stream: %d MiB not yet acknowledged; lines are read back "
                             "from the transaction log from record %d on",
                             buf.max_held_bytes >> 20, num)
                return
            self._wait_for_room(nbytes)
            wake = not buf.has_lines
            buf.add(name, lines, nbytes, start)
            if wake or buf.urgent:
                self._cv.notify_all()

    def _wait_for_room(self, nbytes: int) -> None:
        """Without a log to spill to: wait (called under the lock)."""
        if self._buf.over_budget(nbytes) and not self._warned_full:
            self._warned_full = True
            log.warning("file_stream: %d MiB of lines not yet acknowledged by the server; "
                        "logging is slowed down until it catches up",
                        self._buf.max_held_bytes >> 20)
        while (self._buf.over_budget(nbytes) and not self._failed and not self._t.closed
               and not self._ended.is_set()):
            self._cv.notify_all()
            self._cv.wait(0.25)

    # ------------------------------------------------------------------ counters
    def counters(self) -> tuple[int, int, int]:
        """(acknowledged bytes, bytes handed over, lines not yet acknowledged)."""
        with self._cv:
            return self._buf.acked_bytes, self._buf.total_bytes, self._buf.pending_lines

    @property
    def held_bytes(self) -> int:
        """Bytes of lines in memory (pending and in flight), for the network status."""
        return self._buf.held_bytes

    @property
    def spills(self) -> int:
        return self._buf.spills

    @property
    def dropped_lines(self) -> int:
        """Lines (and a summary not replaced since) the server refused for good."""
        return self._buf.not_stored

    # ------------------------------------------------------------------ run control side
    def set_offsets(self, offsets: dict[str, int]) -> None:
        """Where each file continues; the first offsets given win (later ones repeat them)."""
        with self._cv:
            if not self._offsets_set:
                self._buf.set_offsets(offsets)
                self._offsets_set = True

    def open(self, ident: RunIdentity, offsets: dict[str, int] | None) -> None:
        """The run exists on the server: posting may begin (at ``offsets``, when given)."""
        if offsets is not None:
            self.set_offsets(offsets)
        with self._cv:
            self._ident = ident
            self._last_post = time.monotonic()
            self._cv.notify_all()

    def run_failed(self) -> None:
        """The run could not be created: nothing will be posted, lines are dropped."""
        with self._cv:
            self._failed = True
            self._cv.notify_all()

    def finish(self, exit_code: int | None, *, complete: bool = True) -> threading.Event:
        """Post every line, then (``complete``) the final post; the event is set when done."""
        req = _Finish(exit_code, complete)
        with self._cv:
            if self._ended.is_set():
                req.done.set()
            else:
                self._finish = req
                self._cv.notify_all()
        return req.done

    # ------------------------------------------------------------------ the thread
    def _loop(self) -> None:
        try:
            while True:
                with self._cv:
                    if self._finish is None and not self._ending:
                        wait = self._next_wait()
                        if wait > 0:
                            self._cv.wait(wait)
                    req, self._finish = self._finish, None
                    ending = self._ending
                if req is not None:
                    self._do_finish(req)
                elif ending:
                    self._post_what_is_left()
                    return
                elif not self._t.closed:
                    self._maybe_post()
        except Exception:  # pragma: no cover - the loop must never raise
            log.exception("file-stream poster crashed")
        finally:
            with self._cv:
                self._ended.set()
                if self._finish is not None:
                    self._finish.done.set()
                self._cv.notify_all()

    def _next_wait(self) -> float:
        """Seconds until there is something to post (under the lock)."""
        buf = self._buf
        if self._ident is None or self._failed or self._finished or self._t.closed:
            return 1.0
        if buf.urgent:
            return 0.0
        if buf.spilling and not buf.has_lines:
            return 0.05  # the lines are in the log: read them back soon
        now = time.monotonic()
        if buf.has_pending:
            return max(0.0, self._last_post + self.post_interval - now)
        return max(0.0, min(1.0, self._last_post + self.heartbeat_interval - now))

    def _maybe_post(self) -> None:
        if self._failed:
            self._discard("the run could not be created on the server")
            return
        if self._ident is None or self._finished:
            return
        since = time.monotonic() - self._last_post
        with self._cv:
            pending, urgent = self._buf.has_pending, self._buf.urgent
        due = pending and (urgent or since >= self.post_interval)
        if due or since >= self.heartbeat_interval:
            self._post(final=False, exit_code=None)

    def _refill(self) -> None:
        """Read spilled lines back from the log while there is room (poster thread only)."""
        if self._tail is None:
            return
        with self._cv:
            want = self._buf.refill_range()
        if want is None:
            return
        got, last_num = read_back(self._tail, want)
        with self._cv:
            self._buf.refilled(got, last_num)

    def _post(self, *, final: bool, exit_code: int | None) -> bool:
        """One post; True when it was the final one (all lines sent, ``complete`` set)."""
        ident = self._ident
        assert ident is not None
        buf = self._buf
        with self._cv:
            refill = buf.spilling and buf.waiting_bytes < buf.max_post_bytes
        if refill:
            self._refill()
        with self._cv:
            batch = buf.take()
            last = final and not buf.has_pending
        body = encode_post(batch.files, complete=last, exit_code=exit_code)
        outcome = "unsent"
        try:
            answer = self._t.file_stream(ident.entity, ident.project, ident.run_id, body,
                                         seq=next_seq())
            outcome = "acked"
            if answer.get("stopped") is True and self._stop_requested is not None \
                    and not self._stop_requested.is_set():
                log.info("the server asked run %s to stop (file_stream answer)", ident.run_id)
                self._stop_requested.set()
        except TransportError as e:
            if e.aborted or self._t.closed:
                log.warning("file_stream: %d lines not sent (transport closed); they stay in "
                            "the transaction log for `nbtrack sync`", batch.lines)
            else:
                outcome = self._refused(batch, e)
        self._last_post = time.monotonic()
        with self._cv:
            self.posts += 1
            if outcome == "acked":
                buf.acknowledged(batch)
            elif outcome == "split":
                buf.put_back(batch)
            elif outcome == "refused":
                buf.refused(batch)
            else:
                buf.unsent(batch)
            if last and outcome == "acked":
                self.final_acked = True
            self._cv.notify_all()
        return last and outcome != "split"

    def _refused(self, batch: Batch, e: TransportError) -> str:
        """A post refused for good: ``split`` (413, several lines) or ``refused``.

        Refused lines are not given up silently: they stay in the transaction log, their
        offsets are not reused, and they count as not stored (finish names ``nbtrack sync``).
        """
        verdict = refusal(e.status)
        # a refused key refuses every later post too: say it once, not once a second
        again = verdict == "key" and self._key_refused
        self._key_refused = self._key_refused or verdict == "key"
        if batch.lines == 0:  # a heartbeat (or a bare final post): no data to keep
            log.log(logging.DEBUG if again else logging.WARNING,
                    "file_stream: an empty post was refused: %s", e)
            return "refused"
        if verdict == "split" and batch.lines > 1:
            log.warning("file_stream: the server refused a post of %d bytes as too large; "
                        "posting its %d lines in smaller posts", batch.nbytes, batch.lines)
            return "split"
        if verdict == "split":
            why = (f"one line of {batch.nbytes} bytes is over the server's limit for a post "
                   f"({e})")
        elif verdict == "key":
            why = f"{KEY_REFUSED} ({e}); check NBTRACK_API_KEY / the key"
        else:
            why = str(e)
        first = {name: f["offset"] for name, f in batch.files.items() if name != SUMMARY}
        log.log(logging.DEBUG if again else logging.ERROR,
                "file_stream: %d lines not stored by the server (offsets %s), kept in the "
                "transaction log for `nbtrack sync`: %s", batch.lines, first, why)
        with self._cv:
            self.not_stored_reason = self.not_stored_reason or why
        self._t.status.add_dropped_lines(batch.lines, why)
        return "refused"

    def _discard(self, why: str) -> None:
        with self._cv:
            n = self._buf.discard_all()
            self._cv.notify_all()
        if n:
            log.error("file_stream: %d lines not sent: %s", n, why)
            self._t.status.add_dropped_lines(n, why)

    def _do_finish(self, req: _Finish) -> None:
        try:
            if self._failed:
                self._discard("the run could not be created on the server")
                return
            if self._ident is None or self._finished:
                return
            bare_final_tried = False
            while not self._t.closed:
                if req.complete:
                    if self._post(final=True, exit_code=req.exit_code):
                        if self.final_acked or bare_final_tried:
                            break
                        # the final post was refused with its lines: the run's end alone
                        # may still be accepted (the lines wait in the log for sync)
                        bare_final_tried = True
                else:
                    with self._cv:
                        pending = self._buf.has_pending
                    if not pending:
                        break
                    self._post(final=False, exit_code=None)
            self._finished = True
        finally:
            req.done.set()

    def _post_what_is_left(self) -> None:
        """At the end marker without a finish (a detached run): post what is pending."""
        if self._ident is None or self._finished or self._failed:
            return
        while not self._t.closed:
            with self._cv:
                pending = self._buf.has_pending
            if not pending:
                break
            self._post(final=False, exit_code=None)

"""The file-pusher worker: ``createRunFiles`` then one PUT per file, in its own thread.

Files are handed over by the sender thread with :meth:`FilePusher.push` (sizes
are counted then, for ``poll_exit``); a :meth:`FilePusher.join_marker` callback
runs once every file handed over before it was uploaded or failed for good.
Uploads wait until the run exists on the server (:meth:`set_run`). Its input is
a bounded queue; :meth:`end` puts the end marker after what was handed over.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nbtrack.client import gql
from nbtrack.client.errors import TransportError
from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.queues import END, ByteQueue
from nbtrack.pipeline.sender.filestream_wire import RunIdentity
from nbtrack.pipeline.stagethread import StageThread, ThreadedStage
from nbtrack.proto import nbtrack_pb2 as pb

log = logging.getLogger("nbtrack.pipeline.sender.filepusher")

MAX_BATCH = 100


@dataclass
class _File:
    path: str
    name: str
    size: int


@dataclass
class _Join:
    done: Callable[[], None]


class FilePusher(ThreadedStage):
    """See the module docstring."""

    name = "filepusher"

    def __init__(self, transport: WandbClient, *, queue_bytes: int = 1 << 20) -> None:
        self._t = transport
        self._q = ByteQueue(queue_bytes, "filepusher_q")
        self._cv = threading.Condition(threading.Lock())
        self._ident: RunIdentity | None = None
        self._run_failed = False
        self._thread = StageThread(self._loop, "nbtrack-filepusher")
        # counters (guarded by _cv)
        self.total_files = 0
        self.uploaded_files = 0
        self.failed_files = 0
        self.total_bytes = 0
        self.uploaded_bytes = 0
        self._failed_bytes = 0

    # ------------------------------------------------------------------ life

    def end(self) -> None:
        """The end marker: upload what was handed over before it, then stop."""
        self._q.put_end()


    def left(self) -> str:
        with self._cv:
            n = self.total_files - self.uploaded_files - self.failed_files
        return f"{n} files not uploaded" if n else ""

    # ------------------------------------------------------------------ sender thread side
    def set_run(self, ident: RunIdentity | None) -> None:
        """The run the files belong to; None when it could not be created (files fail)."""
        with self._cv:
            if ident is None:
                self._run_failed = True
            else:
                self._ident = ident
            self._cv.notify_all()

    def push(self, items: list[pb.FileItem]) -> None:
        for it in items:
            try:
                size = os.stat(it.path).st_size
            except OSError:
                size = 0
            f = _File(it.path, it.name or os.path.basename(it.path), size)
            with self._cv:
                self.total_files += 1
                self.total_bytes += f.size
            self._q.put(f, len(f.path) + len(f.name) + 64)

    def join_marker(self, done: Callable[[], None]) -> None:
        """Call ``done`` (in the pusher's thread) once every file pushed before is done."""
        self._q.put(_Join(done), 64)

    def counters(self) -> tuple[int, int, int, int]:
        """(uploaded bytes, total bytes, uploaded files, total files)."""
        with self._cv:
            return self.uploaded_bytes, self.total_bytes, self.uploaded_files, self.total_files

    @property
    def pending_bytes(self) -> int:
        """Bytes of files handed over and not yet uploaded or failed."""
        with self._cv:
            return max(0, self.total_bytes - self.uploaded_bytes - self._failed_bytes)

    @property
    def ok(self) -> bool:
        with self._cv:
            return self.failed_files == 0 and self.uploaded_files == self.total_files

    # ------------------------------------------------------------------ worker
    def _loop(self) -> None:
        try:
            taken: collections.deque[Any] = collections.deque()  # taken from the queue, in order
            while True:
                if not taken:
                    taken.extend(self._q.get_batch(MAX_BATCH, 1.0))
                    continue
                head = taken[0]
                if head is END:
                    return
                if isinstance(head, _Join):
                    taken.popleft()
                    self._call(head)
                    continue
                ident = self._wait_for_run()
                # files handed over while waiting go in the same createRunFiles call
                taken.extend(self._q.get_batch(MAX_BATCH, 0.0))
                batch: list[_File] = []
                while taken and isinstance(taken[0], _File) and len(batch) < MAX_BATCH:
                    batch.append(taken.popleft())
                self._upload_guarded(batch, ident)
        except Exception:  # pragma: no cover - never raise out of the thread
            log.exception("file-pusher worker crashed")

    def _call(self, join: _Join) -> None:
        try:
            join.done()
        except Exception:
            log.exception("file pusher: join callback failed")

    def _wait_for_run(self) -> RunIdentity | None:
        with self._cv:
            while self._ident is None and not self._run_failed and not self._t.closed:
                self._cv.wait(0.5)
            return self._ident

    def _upload_guarded(self, batch: list[_File], ident: RunIdentity | None) -> None:
        try:
            self._upload_batch(batch, ident)
        except Exception as e:  # a bug must not stop later uploads or joins
            log.exception("file pusher: upload batch failed")
            for f in batch:
                self._fail(f, f"internal error: {type(e).__name__}")

    def _fail(self, f: _File, why: str) -> None:
        log.error("file %s not uploaded: %s", f.name, why)
        self._t.status.add_failed_file(f"file {f.name} not uploaded: {why}")
        with self._cv:
            self.failed_files += 1
            self._failed_bytes += f.size

    def _upload_batch(self, batch: list[_File], ident: RunIdentity | None) -> None:
        if ident is None or self._t.closed:
            why = "transport closed" if self._t.closed else "the run does not exist on the server"
            for f in batch:
                self._fail(f, why)
            return
        names = list(dict.fromkeys(f.name for f in batch))
        try:
            data = self._t.graphql(
                gql.CREATE_RUN_FILES,
                gql.create_run_files_variables(ident.entity, ident.project, ident.run_id, names),
            )
            headers, urls = gql.parse_create_run_files(data)
        except TransportError as e:
            for f in batch:
                self._fail(f, f"createRunFiles failed: {e}")
            return
        for f in batch:
            url = urls.get(f.name)
            if not url:
                self._fail(f, "the server gave no upload URL")
                continue
            try:
                sent = self._t.upload(url, f.path, headers)
            except TransportError as e:
                self._fail(f, str(e))
                continue
            with self._cv:
                self.uploaded_files += 1
                self.uploaded_bytes += sent
                self.total_bytes += sent - f.size  # the file changed since it was handed over

"""The file-pusher worker: ``createRunFiles`` then one PUT per file, in its own thread.

Files are handed over by the sender thread with :meth:`FilePusher.push` (sizes
are counted then, for ``poll_exit``); a :meth:`FilePusher.join_marker` callback
runs once every file handed over before it was uploaded or failed for good.
Uploads wait until the run exists on the server (:meth:`set_run`).
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from nbtrack.client import gql
from nbtrack.client.transport import Transport, TransportError
from nbtrack.pipeline.sender.filestream_wire import RunIdentity
from nbtrack.pipeline.stagethread import StageThread
from nbtrack.proto import nbtrack_pb2 as pb

log = logging.getLogger("nbtrack.pipeline.sender.stage")

MAX_BATCH = 100


@dataclass
class _File:
    path: str
    name: str
    size: int


@dataclass
class _Join:
    done: Callable[[], None]


class _Stop:
    pass


_Item = _File | _Join | _Stop


class FilePusher:
    def __init__(self, transport: Transport) -> None:
        self._t = transport
        self._cv = threading.Condition(threading.Lock())
        self._q: collections.deque[_Item] = collections.deque()
        self._ident: RunIdentity | None = None
        self._run_failed = False
        self._thread = StageThread(self._loop, "nbtrack-filepusher")
        # counters (guarded by _cv)
        self.total_files = 0
        self.uploaded_files = 0
        self.failed_files = 0
        self.total_bytes = 0
        self.uploaded_bytes = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._q.append(_Stop())
            self._cv.notify_all()

    def join(self, timeout: float) -> bool:
        return self._thread.join(timeout)

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
        files = []
        for it in items:
            try:
                size = os.stat(it.path).st_size
            except OSError:
                size = 0
            files.append(_File(it.path, it.name or os.path.basename(it.path), size))
        with self._cv:
            for f in files:
                self._q.append(f)
                self.total_files += 1
                self.total_bytes += f.size
            self._cv.notify_all()

    def join_marker(self, done: Callable[[], None]) -> None:
        with self._cv:
            self._q.append(_Join(done))
            self._cv.notify_all()

    def counters(self) -> tuple[int, int, int, int]:
        """(uploaded bytes, total bytes, uploaded files, total files)."""
        with self._cv:
            return self.uploaded_bytes, self.total_bytes, self.uploaded_files, self.total_files

    @property
    def pending_bytes(self) -> int:
        with self._cv:
            return sum(f.size for f in self._q if isinstance(f, _File))

    @property
    def ok(self) -> bool:
        with self._cv:
            return self.failed_files == 0 and self.uploaded_files == self.total_files

    # ------------------------------------------------------------------ worker
    def _loop(self) -> None:
        try:
            while True:
                with self._cv:
                    while not self._q:
                        self._cv.wait()
                    head = self._q[0]
                    if isinstance(head, _File):
                        # files wait for the run (unless it failed / transport closed)
                        while self._ident is None and not self._run_failed and not self._t.closed:
                            self._cv.wait(0.5)
                        batch: list[_File] = []
                        while self._q and isinstance(self._q[0], _File) and len(batch) < MAX_BATCH:
                            f = self._q.popleft()
                            assert isinstance(f, _File)
                            batch.append(f)
                        ident = self._ident
                    else:
                        self._q.popleft()
                if isinstance(head, _Stop):
                    return
                if isinstance(head, _Join):
                    try:
                        head.done()
                    except Exception:
                        log.exception("file pusher: join callback failed")
                    continue
                try:
                    self._upload_batch(batch, ident)
                except Exception as e:  # a bug must not stop later uploads or joins
                    log.exception("file pusher: upload batch failed")
                    for f in batch:
                        self._fail(f, f"internal error: {type(e).__name__}")
        except Exception:  # pragma: no cover - never raise out of the thread
            log.exception("file-pusher worker crashed")

    def _fail(self, f: _File, why: str) -> None:
        log.error("file %s not uploaded: %s", f.name, why)
        self._t.status.add_failed_file(f"file {f.name} not uploaded: {why}")
        with self._cv:
            self.failed_files += 1

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

"""The ``nbtrack-media`` worker: PNG and table JSON encoding off the user's thread.

One thread takes the queued jobs in batches and has them encoded by the encoder process
(:mod:`~nbtrack.pipeline.media.encoder`, started on the first job; in this thread when it
cannot run).

The user thread :meth:`MediaWorker.submit` s a validated job (its pixels already copied)
and gets a job id at once; the queue is bounded by bytes, so a loop logging images faster
than they can be encoded waits in ``log()`` (back-pressure) instead of growing memory. The
handler :meth:`MediaWorker.take` s each result when it commits the row (usually long done:
encoding starts when ``log()`` returns). An encoding that fails is a result too (its
error), so the handler drops that value with a warning naming the key; nothing waits
forever: ``take`` has a deadline and notices a dead worker.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from nbtrack.pipeline.media.encode import encode_job
from nbtrack.pipeline.media.encoder import EncoderProcess
from nbtrack.pipeline.media.jobs import Job
from nbtrack.pipeline.queues import END, ByteQueue, QueueClosed
from nbtrack.pipeline.stagethread import StageThread, ThreadedStage

__all__ = ["MediaFailed", "MediaWorker"]

log = logging.getLogger("nbtrack.pipeline.media.worker")


class MediaFailed(Exception):
    """A job's result when it could not be encoded or written (or never was)."""


class MediaWorker(ThreadedStage):
    """See the module docstring. ``tmp_dir`` holds files until the handler names them."""

    name = "media"

    def __init__(self, tmp_dir: Path, files_dir: Path, *, queue_bytes: int = 64 << 20,
                 max_backlog: int = 64, use_process: bool = True) -> None:
        self.tmp_dir = tmp_dir
        self.files_dir = files_dir
        self._q = ByteQueue(queue_bytes, "media_q")
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()
        self._cv = threading.Condition(threading.Lock())
        self._results: dict[int, Any] = {}
        self._thread = StageThread(self._loop, "nbtrack-media")
        self._q.watch_consumer(lambda: self._thread.alive or not self._thread.started)
        self.encoded = 0
        self.failed = 0
        self.max_backlog = max_backlog
        self.use_process = use_process  # encode in a child process (see encoder.py)
        self._process: EncoderProcess | None = None
        self._process_failed = False
        self.in_process = 0  # jobs the encoder process did
        self._done = 0  # the highest job id finished (ids finish in order)

    # ------------------------------------------------------------ user thread
    def submit(self, job: Job) -> int:
        """Queue ``job`` (waits while the queue is full); its id for the row's marker.

        Past ``max_backlog`` jobs not done the caller waits until half of them are (memory,
        and what a kill can lose, stay bounded). Without the encoder process the thread
        encodes, giving the GIL up in every system call and getting it back from a caller
        running pure Python only every switch interval (5 ms): then each submit that finds
        it behind also yields the GIL once (``sleep(0)``).
        """
        with self._id_lock:  # ids in queue order: the worker finishes them in that order
            job_id = next(self._ids)
            self._q.put((job_id, job), job.nbytes)
        backlog = job_id - self._done
        if backlog > self.max_backlog:
            self._wait_backlog(job_id - self.max_backlog // 2)
        elif backlog > 1 and self._process is None:
            time.sleep(0)  # encoding in the thread (no process): let it have the GIL once
        return job_id

    def _wait_backlog(self, done: int) -> None:
        with self._cv:
            while self._done < done and self._thread.alive:
                self._cv.wait(0.5)

    # ------------------------------------------------------------ handler thread
    def take(self, job_id: int, timeout: float = 60.0) -> Any:
        """The result of ``job_id`` (removed), or MediaFailed; waits up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while job_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0:
                    return MediaFailed(f"not encoded within {timeout:.0f} s")
                if self._thread.started and not self._thread.alive:
                    return MediaFailed("the media worker has stopped")
                self._cv.wait(min(left, 0.5))
            return self._results.pop(job_id)

    # ------------------------------------------------------------ life
    def end(self) -> None:
        self._q.put_end()

    def left(self) -> str:
        n = len(self._q)
        return f"{n} media items not encoded" if n else ""

    def cleanup(self) -> None:
        """Remove the temporary directory (what is left there no row references)."""
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def _loop(self) -> None:
        try:
            self._serve()
        finally:
            process, self._process = self._process, None
            if process is not None:
                process.close()

    def _serve(self) -> None:
        while True:
            try:
                batch = self._q.get_batch(256, timeout=1.0)
            except QueueClosed:
                return
            except Exception:  # pragma: no cover - defensive: never raise out
                log.exception("media: taking jobs failed")
                time.sleep(0.05)
                continue
            jobs = [item for item in batch if item is not END]
            if jobs:
                self._publish(self._encode(jobs))
            if len(jobs) < len(batch):
                return

    def _encode(self, jobs: list[tuple[int, Job]]) -> list[tuple[int, Any]]:
        """Results of a batch: from the encoder process, or in this thread when there is
        none (it could not start, or died: then this thread for the rest of the run)."""
        if self.use_process and self._process is None and not self._process_failed:
            try:
                self._process = EncoderProcess()
                self._process.start()
            except Exception as exc:
                log.warning("media: no encoder process (%s); encoding in this thread", exc)
                self._process, self._process_failed = None, True
        if self._process is not None:
            try:
                results = self._process.encode(self.tmp_dir, self.files_dir, jobs)
                self.in_process += len(results)
                return results
            except (OSError, EOFError, pickle.PickleError) as exc:
                log.warning("media: the encoder process failed (%s); encoding in this "
                            "thread", exc)
                self._process.close(1.0)
                self._process, self._process_failed = None, True
        out: list[tuple[int, Any]] = []
        for job_id, job in jobs:
            try:
                out.append((job_id, encode_job(job, self.tmp_dir, self.files_dir, f"{job_id}")))
            except Exception as exc:
                out.append((job_id, f"{type(exc).__name__}: {exc}"))
        return out

    def _publish(self, results: list[tuple[int, Any]]) -> None:
        with self._cv:
            for job_id, result in results:
                if isinstance(result, str):
                    log.warning("media: job %d could not be encoded: %s", job_id, result)
                    result = MediaFailed(result)
                    self.failed += 1
                else:
                    self.encoded += 1
                self._results[job_id] = result
                self._done = max(self._done, job_id)
            self._cv.notify_all()

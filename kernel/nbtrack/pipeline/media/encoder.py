"""The media encoder process: PNG and table JSON encoding outside the kernel's GIL.

Why a process: in the kernel the encoding thread gives the GIL up in every system call
and inside Pillow's encoder, and gets it back from a training loop running pure Python
only when the switch interval (5 ms) forces the loop off, so one thread managed a few
images per 10 ms however idle the CPU was. The ``nbtrack-media`` thread now sends each
batch of jobs to this process in one write and reads the batch's results in one read (a
few GIL hand-overs per batch instead of several per image), and the encoding runs on
another core.

Protocol on the child's stdin / stdout: frames of an 8-byte big-endian length and a
pickle (this process's own data, between two processes of the same user). Request:
``(tmp_dir, files_dir, [(job_id, job), ...])``; answer: ``[(job_id, result), ...]`` with a
result from :func:`~nbtrack.pipeline.media.encode.encode_job` or a ``str`` (the error).
The child ends on end of input: when the kernel closes it, exits or is killed.

Inside the child a batch's jobs run on a few threads: creating a file costs ~0.9 ms of
waiting on this machine's ext4 disk and only ~0.14 ms of CPU, so writes that wait together
make 10,000 small images ~4x faster end to end (``benchmarks/media_loop.py``); results keep
the batch's order.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from nbtrack.pipeline.media.encode import encode_job

__all__ = ["EncoderProcess", "main"]

log = logging.getLogger("nbtrack.pipeline.media.encoder")
_LEN = struct.Struct(">Q")
WRITERS = 4  # the child's threads: enough to overlap file creation, few enough to stay small


def _read_frame(f: IO[bytes]) -> Any:
    head = f.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    body = f.read(n)
    if len(body) < n:
        return None
    return pickle.loads(body)  # our own frames, from our own process (see the docstring)


def _write_frame(f: IO[bytes], obj: Any) -> None:
    body = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(_LEN.pack(len(body)) + body)
    f.flush()


class EncoderProcess:
    """The kernel's handle on one encoder child (started by :meth:`start`)."""

    def __init__(self, batch_timeout: float = 300.0) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        # a batch not answered in this long means a stuck child: it is killed and the
        # thread encodes (a caller waiting on the backlog never waits forever)
        self.batch_timeout = batch_timeout

    def start(self, timeout: float = 30.0) -> None:
        package_root = str(Path(__file__).resolve().parents[3])  # the dir holding nbtrack/
        code = (f"import sys; sys.path.insert(0, {package_root!r}); "
                "from nbtrack.pipeline.media.encoder import main; sys.exit(main())")
        self._proc = subprocess.Popen(  # this nbtrack, whatever the kernel's sys.path was
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, close_fds=True)
        assert self._proc.stdout is not None
        if self._proc.stdout.read(5) != b"ready":
            self.close(1.0)
            raise RuntimeError("the media encoder process did not start")

    def encode(self, tmp_dir: Path, files_dir: Path, jobs: list[tuple[int, Any]]
               ) -> list[tuple[int, Any]]:
        """The results of ``jobs`` (raises OSError / EOFError when the child is gone)."""
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise EOFError("no encoder process")
        _write_frame(proc.stdin, (str(tmp_dir), str(files_dir), jobs))
        if os.name == "posix":
            ready, _, _ = select.select([proc.stdout], [], [], self.batch_timeout)
            if not ready:
                raise TimeoutError(f"no answer in {self.batch_timeout:.0f} s")
        answer = _read_frame(proc.stdout)
        if answer is None:
            raise EOFError("the media encoder process ended")
        return list(answer)

    def close(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(5.0)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


def main() -> int:
    """The child: answer frames until end of input."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames on the pipe
    stdout.write(b"ready")
    stdout.flush()
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="nbtrack-encode") as pool:
        while True:
            request = _read_frame(stdin)
            if request is None:
                return 0
            tmp_dir, files_dir, jobs = request

            def one(item: tuple[int, Any], tmp: Path = Path(tmp_dir),
                    files: Path = Path(files_dir)) -> tuple[int, Any]:
                job_id, job = item
                try:
                    return job_id, encode_job(job, tmp, files, str(job_id))
                except Exception as exc:
                    return job_id, f"{type(exc).__name__}: {exc}"

            _write_frame(stdout, list(pool.map(one, jobs)))


if __name__ == "__main__":
    sys.exit(main())

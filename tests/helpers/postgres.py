"""A private, throwaway PostgreSQL cluster for the tests (one per pytest session).

Per /work/shared/recipes/postgresql-testing.md: ``initdb`` in a temporary directory
(owned by the ``postgres`` user when the tests run as root, since PostgreSQL refuses
to run as root), on a free port, listening on 127.0.0.1 only, ``fsync=off``, trust
authentication (loopback and tests only: the application's own API keys are what the
tests authenticate with). If the cluster cannot start, the fixture FAILS with the
tail of the server log: a missing PostgreSQL must never silently skip half the suite.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import queue
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.server import free_port


def _bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with ``initdb``, or the one on PATH."""

    def version(path: str) -> int:
        name = Path(path).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PostgresCluster:
    """``start()``, ``create_database() -> url``, ``stop()``."""

    def __init__(self, *, durable: bool = False) -> None:
        """``durable``: keep fsync and synchronous commit on (benchmarks); tests turn them off."""
        self.durable = durable
        self.bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="nbtrack-pg-"))
        self.port = 0
        self._as_root = os.geteuid() == 0
        self._counter = itertools.count()
        self._stopping = threading.Event()

    @property
    def log(self) -> Path:
        return self.dir / "postgres.log"

    def _run(self, *argv: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        if self._as_root:
            cmd = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
        else:
            cmd = list(argv)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"

    def start(self) -> None:
        if self.bindir is None:
            raise RuntimeError(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb):"
                " apt-get install -y postgresql"
            )
        if self._as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root but there is no 'postgres' user") from None
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        data = self.dir / "data"
        out = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        )
        if out.returncode != 0:
            raise RuntimeError(f"initdb failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        for attempt in range(3):
            self.port = free_port()
            opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
            opts += " -c max_connections=300"
            if not self.durable:
                opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            self._opts = opts
            out = self._pg_ctl_start()
            if out.returncode == 0:
                self._prepare()
                return
            if attempt == 2:
                raise RuntimeError(
                    f"pg_ctl start failed ({out.returncode}): {out.stdout}{out.stderr}\n"
                    f"--- log tail ---\n{self.tail()}"
                )

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        assert self.bindir is not None
        return self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-l",
                         str(self.log), "-w", "-t", "30", "start", "-o", self._opts)

    def halt(self) -> None:
        """Stop the server at once (``-m immediate``: as a crash would), keeping its data."""
        assert self.bindir is not None
        out = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                        "immediate", "-w", "stop")
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {out.stdout}{out.stderr}")

    def resume(self) -> None:
        """Start the halted server again on the same port (crash recovery runs first)."""
        out = self._pg_ctl_start()
        if out.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {out.stdout}{out.stderr}\n{self.tail()}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _create(self, template: str) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY'  # type: ignore[arg-type]
            )
        return self.url(name)

    def _prepare(self) -> None:
        """A template with the current schema, and a few databases made ahead in a thread
        (creating one takes a few hundred ms; servers then start on a ready database)."""
        import psycopg

        from nbtrack.server.storage.postgres_migrations import migrate

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "nbtrack_template"')
        with psycopg.connect(self.url("nbtrack_template"), autocommit=True) as conn:
            migrate(conn)
        self._ready: queue.Queue[str] = queue.Queue(maxsize=3)
        self._filler = threading.Thread(target=self._fill, name="pg-databases", daemon=True)
        self._filler.start()

    def _fill(self) -> None:
        while not self._stopping.is_set():
            try:
                url = self._create("nbtrack_template")
            except Exception:  # the cluster stopped: create_database() reports it
                return
            while not self._stopping.is_set():
                try:
                    self._ready.put(url, timeout=0.5)
                    break
                except queue.Full:
                    continue

    def create_database(self, *, empty: bool = False) -> str:
        """A new database with the current schema (``empty``: without any); its URL."""
        if empty:
            return self._create("template0")
        try:
            return self._ready.get(timeout=30)
        except queue.Empty:
            return self._create("nbtrack_template")

    def stop(self) -> None:
        self._stopping.set()
        if self.bindir is not None and (self.dir / "data" / "postmaster.pid").exists():
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-m",
                "immediate",
                "-w",
                "stop",
            )
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One private PostgreSQL for the session; fails (never skips) if it cannot start."""
    cluster = PostgresCluster()
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        tail = cluster.tail()
        cluster.stop()
        pytest.fail(f"could not start PostgreSQL: {e}\n--- log tail ---\n{tail}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """A fresh, empty database for one test."""
    return postgres_cluster.create_database()

"""One run's pipeline and the capture threads that feed it: started together, closed in order.

The pipeline may not import capture (the layers: sdk → capture → pipeline), so the
place that starts both is here, on the SDK side. :meth:`RunStream.start` builds the
run's :class:`~nbtrack.pipeline.stream.Stream` from the settings, registers the run
with the server (so the capture threads know its start time and runtime offset),
then starts console capture, the system sampler and the environment capture.
``Run`` gets the started ``RunStream`` at construction, in one phase.

Closing: :meth:`stop_capture` before the exit record (the last console line, the last
stats row and the environment files precede it), then :meth:`close` ends the stream.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
from collections.abc import Callable

from nbtrack.capture.console import ConsoleCapture
from nbtrack.capture.environment import EnvironmentCapture
from nbtrack.capture.system import SystemSampler
from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.config import MiB, PipelineConfig
from nbtrack.pipeline.interface import Interface
from nbtrack.pipeline.stream import CloseReport, Stream
from nbtrack.proto import nbtrack_pb2 as pb
from nbtrack.settings import Settings, Tuning
from nbtrack.txlog.identity import write_identity
from nbtrack.version import __version__

logger = logging.getLogger("nbtrack.sdk.runstream")

ENV_JOIN_TIMEOUT = 10.0


class InitError(RuntimeError):
    """``init`` could not start the run; the message says why and what to do."""


def pipeline_config(tuning: Tuning) -> PipelineConfig:
    """The pipeline's numbers for a run: the defaults, with what the user tuned."""
    return PipelineConfig(max_unsent_bytes=max(int(tuning.max_unsent_mb * MiB), 1),
                          stop_poll_interval=tuning.stop_poll_interval,
                          fsync_interval=tuning.fsync_interval,
                          ring_bytes=int(tuning.ring_mb * MiB) // 16 * 16)


class RunStream:
    """A started run: its pipeline, the run as the server registered it, its capture threads."""

    def __init__(self, stream: Stream, record: pb.RunRecord) -> None:
        self._stream = stream
        self.record = record
        self._console: ConsoleCapture | None = None
        self._system: SystemSampler | None = None
        self._env: EnvironmentCapture | None = None
        self._capture_stopped = False

    @classmethod
    def start(cls, settings: Settings, record: pb.RunRecord, transport: WandbClient | None,
              warn: Callable[[str], None]) -> RunStream:
        """Start the pipeline, register the run, start capture; raises InitError."""
        stream = Stream(pipeline_config(settings.tuning), settings.log_path, transport, warn=warn)
        try:
            stream.start()
        except OSError as exc:
            if transport is not None:
                transport.close()
            raise InitError(f"nbtrack: cannot write the run's log {settings.log_path}: "
                            f"{exc.strerror or exc}. Set NBTRACK_DIR (or dir=) to a writable "
                            "directory with free space.") from exc
        try:
            record = _register(settings, stream.interface, record)
        except BaseException:
            stream.close(5.0, abort_network=True)
            raise
        try:
            write_identity(settings.log_path, record)
        except OSError:
            logger.warning("could not write the run's identity beside %s", settings.log_path,
                           exc_info=True)
        stream.interface.publish_telemetry(pb.TelemetryRecord(
            nbtrack_version=__version__, python_version=platform.python_version(),
            platform=platform.platform()))
        started = cls(stream, record)
        try:
            started._start_capture(settings)
        except Exception:
            logger.exception("console / system / environment capture did not start")
        return started

    # ------------------------------------------------------------ what Run uses
    @property
    def interface(self) -> Interface:
        return self._stream.interface

    @property
    def stop_requested(self) -> threading.Event:
        """Set once the server asked the run to stop."""
        return self._stream.stop_requested

    @property
    def closed(self) -> bool:
        return self._stream.closed

    @property
    def blocked_seconds(self) -> float:
        """Time ``log()`` spent waiting on a full queue (backpressure), in total."""
        return self._stream.record_q.blocked_seconds

    def system_metrics(self) -> dict[str, dict[str, list[float]]]:
        return self._system.recent_series() if self._system is not None else {}

    # ------------------------------------------------------------ capture
    def _start_capture(self, settings: Settings) -> None:
        tuning = settings.tuning
        iface = self._stream.interface
        if tuning.console:
            console = ConsoleCapture(_output_publisher(iface))
            console.install()
            self._console = console
        if tuning.stats_interval > 0:
            try:
                system = SystemSampler(_stats_publisher(iface), interval=tuning.stats_interval,
                                       start_time=self.record.start_time,
                                       runtime_offset=self.record.runtime_offset)
                system.start()
                self._system = system
            except Exception:
                logger.warning("system metrics are off: the sampler did not start",
                               exc_info=True)
        if "env" not in tuning.capture_off:
            env = EnvironmentCapture(settings.run_dir, self.record.program, iface.publish_files,
                                     off=tuning.capture_off)
            env.start()
            self._env = env

    def stop_capture(self) -> None:
        """Before the exit record: the last console line, the last stats row, the env files."""
        if self._capture_stopped:
            return
        self._capture_stopped = True
        for what, stop in (("console capture", self._stop_console),
                           ("system metrics", self._stop_system),
                           ("environment capture", self._join_env)):
            try:
                stop()
            except Exception:
                logger.exception("stopping %s failed", what)

    def _stop_console(self) -> None:
        if self._console is not None:
            self._console.uninstall()

    def _stop_system(self) -> None:
        if self._system is not None:
            self._system.stop()

    def _join_env(self) -> None:
        if self._env is not None and not self._env.join(ENV_JOIN_TIMEOUT):
            logger.warning("environment capture did not end within %ss", ENV_JOIN_TIMEOUT)

    def close(self, timeout: float, *, abort_network: bool = False) -> CloseReport:
        """Stop capture (if finish did not), then end the pipeline by ``timeout``."""
        self.stop_capture()
        return self._stream.close(timeout, abort_network=abort_network)


def _output_publisher(iface: Interface) -> Callable[[list[str], bool, float], None]:
    def publish_output(lines: list[str], stderr: bool, ts: float) -> None:
        for line in lines:
            rec = pb.Record()
            rec.output.line = line
            rec.output.stderr = stderr
            rec.output.timestamp = ts
            iface.publish(rec)

    return publish_output


def _stats_publisher(iface: Interface) -> Callable[[str], None]:
    def publish_stats(row_json: str) -> None:
        rec = pb.Record()
        rec.stats.row_json = row_json
        iface.publish(rec)

    return publish_stats


def _register(settings: Settings, iface: Interface, record: pb.RunRecord) -> pb.RunRecord:
    """Send the run to the server and wait for its answer (resume offsets, entity, url)."""
    handle = iface.deliver_run(record)
    result = handle.wait(settings.init_timeout)
    if result is None:
        handle.abandon()
        if settings.resume:
            raise InitError(f"nbtrack: the server at {settings.base_url} did not answer within "
                            f"{settings.init_timeout:g}s; cannot resume run {settings.run_id}")
        # the user's thread: said to the user (in a kernel, logging goes to debug.log)
        print(f"nbtrack: the server at {settings.base_url} did not answer within "
              f"{settings.init_timeout:g}s; the run goes on and is sent later",
              file=sys.stderr)
    else:
        answer = result.run_result
        if answer.error.code != pb.ErrorInfo.NONE:
            raise InitError(f"nbtrack: {answer.error.message}")
        if answer.HasField("run"):
            record = answer.run
    record.offsets_known = True
    iface.publish_run(record)
    started = iface.deliver_run_start(record)
    if started.wait(settings.init_timeout) is None:
        started.abandon()
    return record


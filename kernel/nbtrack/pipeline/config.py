"""Every number the pipeline runs by, in one frozen object the wiring builds stages from.

The SDK builds it from the run's settings (arguments > ``NBTRACK_*`` > defaults);
no stage reads the environment, so a test states its numbers here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20


@dataclass(frozen=True)
class PipelineConfig:
    """Bounds and intervals of one run's pipeline (the defaults suit almost every run)."""

    # Bounds between stages; past them log() waits (backpressure). The sender leaves
    # lines it cannot send yet in the transaction log, so these stay small.
    record_queue_bytes: int = 16 * MiB
    # the write-ahead ring under record_q (run-<id>.ring): allocated up front, mapped
    # and resident; rows wait in it until the writer has handed their records to the OS
    ring_bytes: int = 16 * MiB
    # the transaction log is fsynced this often (and at finish): the machine-crash bound
    fsync_interval: float = 5.0
    writer_queue_bytes: int = 8 * MiB
    sender_queue_bytes: int = 8 * MiB
    # the inputs of the sender's workers (run control's GraphQL jobs, the files to upload)
    worker_queue_bytes: int = 1 * MiB
    # the media worker's input (images and tables waiting to be encoded, as copied pixels)
    media_queue_bytes: int = 64 * MiB
    # handler: at most one summary record per interval while rows arrive
    summary_interval: float = 2.0
    # file stream: how often lines are posted, how big a post may be, how many bytes of
    # unacknowledged lines are held in memory before the rest is read back from the log
    post_interval: float = 1.0
    max_post_bytes: int = 4 * MiB
    max_unsent_bytes: int = 16 * MiB
    # an empty post this often keeps a quiet run alive on the server
    heartbeat_interval: float = 15.0
    # config changes wait this long for more before one upsert sends them all
    config_debounce: float = 1.0
    # how often the server is asked whether the run should stop (0: never)
    stop_poll_interval: float = 10.0

    def __post_init__(self) -> None:
        for name in ("record_queue_bytes", "ring_bytes", "writer_queue_bytes", "sender_queue_bytes",
                     "worker_queue_bytes", "media_queue_bytes", "max_post_bytes",
                     "max_unsent_bytes", "heartbeat_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"PipelineConfig.{name} must be positive")
        for name in ("post_interval", "fsync_interval", "config_debounce", "stop_poll_interval",
                     "summary_interval"):
            if getattr(self, name) < 0:
                raise ValueError(f"PipelineConfig.{name} must not be negative")

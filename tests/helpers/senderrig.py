"""A Sender and the network workers the wiring builds for it, fed like the handler feeds it,
with the answers it sends collected by slot: shared by the sender's unit tests (against the
fake W&B server) and its live tests (against nbtrack's own server)."""

from __future__ import annotations

import threading

from nbtrack.client.wandbclient import WandbClient
from nbtrack.pipeline.config import PipelineConfig
from nbtrack.pipeline.queues import ByteQueue
from nbtrack.pipeline.sender.stage import Sender
from nbtrack.pipeline.stagethread import Stage
from nbtrack.pipeline.stream import network_workers
from nbtrack.proto import nbtrack_pb2 as pb


class SenderRig:
    def __init__(self, transport: WandbClient | None, config: PipelineConfig) -> None:
        self.q = ByteQueue(64 << 20, "sender_q")
        self.cv = threading.Condition()
        self.results: dict[str, pb.Result] = {}
        stop = threading.Event()
        self.workers = network_workers(config, transport, stop_requested=stop)
        self.sender = Sender(self.q, self.respond, self.workers, stop_requested=stop,
                             config_debounce=config.config_debounce)
        self.stages: list[Stage] = [self.sender]
        if self.workers is not None:
            self.stages += [self.workers.control, self.workers.poster, self.workers.pusher]
        for stage in self.stages:
            stage.start()

    def respond(self, r: pb.Result) -> None:
        with self.cv:
            self.results[r.mailbox_slot] = r
            self.cv.notify_all()

    def put(self, rec: pb.Record) -> None:
        self.q.put(rec, rec.ByteSize())

    def wait(self, slot: str, timeout: float = 5.0) -> pb.Result | None:
        with self.cv:
            self.cv.wait_for(lambda: slot in self.results, timeout)
            return self.results.get(slot)

import threading
import time

import pytest

from nbtrack.pipeline.mailbox import Mailbox, MailboxClosed
from nbtrack.proto import nbtrack_pb2 as pb


def test_result_reaches_the_waiting_slot() -> None:
    box = Mailbox()
    a, b = box.reserve(), box.reserve()
    assert a.slot != b.slot
    threading.Timer(0.05, box.deliver, [pb.Result(mailbox_slot=b.slot)]).start()
    result = b.wait(2.0)
    assert result is not None and result.mailbox_slot == b.slot
    assert a.wait(0.01) is None
    assert len(box) == 1


def test_wait_times_out_within_its_bound() -> None:
    box = Mailbox()
    h = box.reserve()
    start = time.monotonic()
    assert h.wait(0.1) is None
    assert time.monotonic() - start < 1.0


def test_close_abandons_every_waiter() -> None:
    box = Mailbox()
    h = box.reserve()
    threading.Timer(0.05, box.close).start()
    with pytest.raises(MailboxClosed):
        h.wait(5.0)
    with pytest.raises(MailboxClosed):
        box.reserve().wait(0.01)


def test_late_and_unknown_answers_are_ignored() -> None:
    box = Mailbox()
    h = box.reserve()
    h.abandon()
    box.deliver(pb.Result(mailbox_slot=h.slot))
    box.deliver(pb.Result(mailbox_slot="nope"))
    assert h.wait(0.01) is None
    assert len(box) == 0

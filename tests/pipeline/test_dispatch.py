"""Every stage's dispatch table routes every kind of the proto's oneofs, and nothing else.

Why: a kind added to ``nbtrack.proto`` must get a route in every stage that receives
records; the tables are built from the descriptors (``nbtrack.pipeline.dispatch``), and
this test names each stage's table so a stage that forgets one fails here by name.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from nbtrack.pipeline.dispatch import (
    RECORD_KINDS,
    REQUEST_KINDS,
    describe,
    enum_routes,
    kinds,
    routes,
)
from nbtrack.pipeline.handler.stage import Handler
from nbtrack.pipeline.sender.stage import Sender
from nbtrack.proto import nbtrack_pb2 as pb

DeferState = pb.DeferRequest.DeferState

# (table, message, oneof) of each stage; a stage's own table joins this list
TABLES = [
    pytest.param(Handler.ROUTES, pb.Record, "record_type", id="Handler.ROUTES"),
    pytest.param(Handler.REQUESTS, pb.Request, "request_type", id="Handler.REQUESTS"),
    pytest.param(Sender.ROUTES, pb.Record, "record_type", id="Sender.ROUTES"),
    pytest.param(Sender.REQUESTS, pb.Request, "request_type", id="Sender.REQUESTS"),
]


@pytest.mark.parametrize(("table", "message", "oneof"), TABLES)
def test_every_kind_has_exactly_one_route(table: Any, message: Any, oneof: str) -> None:
    fields = [f.name for f in message.DESCRIPTOR.oneofs_by_name[oneof].fields]
    assert sorted(table) == sorted(fields)
    assert all(callable(route) for route in table.values())


def test_every_defer_state_has_a_route() -> None:
    assert sorted(Handler.DEFERS) == sorted(DeferState.values())


def test_the_kinds_come_from_the_proto() -> None:
    assert kinds(pb.Record, "record_type") == RECORD_KINDS
    assert "run" in RECORD_KINDS and "request" in RECORD_KINDS
    assert "header" not in RECORD_KINDS and "footer" not in RECORD_KINDS  # removed in 0.1
    assert "flush" in REQUEST_KINDS and "status_report" not in REQUEST_KINDS


def test_a_table_missing_a_kind_cannot_be_built() -> None:
    table = {kind: print for kind in RECORD_KINDS if kind != "alert"}
    with pytest.raises(TypeError, match=r"no route for \['alert'\]"):
        routes(pb.Record, "record_type", table)


def test_a_route_for_a_kind_the_proto_lacks_cannot_be_built() -> None:
    table = {**{kind: print for kind in REQUEST_KINDS}, "status_report": print}
    with pytest.raises(TypeError, match=r"not in the proto: \['status_report'\]"):
        routes(pb.Request, "request_type", table)
    states = {state: print for state in DeferState.values() if state != pb.DeferRequest.END}
    with pytest.raises(TypeError, match="no route for"):
        enum_routes(DeferState, states)


def test_tables_cannot_be_changed_after_the_check() -> None:
    with pytest.raises(TypeError):
        Handler.ROUTES["history"] = print  # type: ignore[index]


def test_describe_names_the_kind() -> None:
    assert describe(pb.Record(config=pb.ConfigRecord())) == "record config"
    assert describe(pb.Record(request=pb.Request(flush=pb.FlushRequest()))) == "request flush"
    assert describe(({}, None, True, 0.0)) == "log call"
    assert describe(3) == "int"


def test_a_record_of_a_removed_kind_still_parses() -> None:
    """Removed fields keep their numbers reserved: bytes written by 0.1's first proto (a
    ``header`` record, field 21) still parse, as a record with no kind set."""
    old_header = b"\xaa\x01\x00"  # key (21 << 3 | 2) as a varint, then an empty message
    record = pb.Record.FromString(b"\x08\x07" + old_header)  # num=7, then the old header
    assert record.num == 7 and record.WhichOneof("record_type") is None


def test_the_sender_refuses_what_only_the_handler_answers() -> None:
    from nbtrack.pipeline.dispatch import UnknownRecord
    from nbtrack.pipeline.queues import ByteQueue

    sender = Sender(ByteQueue(1 << 20, "sender_q"), lambda result: None, None,
                    stop_requested=threading.Event())
    rec = pb.Record()
    rec.request.get_summary.SetInParent()
    with pytest.raises(UnknownRecord, match="answered by the handler"):
        sender.handle(rec)
    with pytest.raises(UnknownRecord, match="no kind set"):
        sender.handle(pb.Record())

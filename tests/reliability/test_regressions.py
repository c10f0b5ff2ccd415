"""One focused regression test per defect the reliability suites found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.sdk.values import config_value, normalize


def test_longdouble_is_logged_not_infinite_recursion() -> None:
    """np.longdouble(...).item() returns a np.longdouble: normalize recursed forever
    (RecursionError out of log() and config). Found by test_bad_input."""
    assert normalize({"a": np.longdouble(1.5)}) == {"a": 1.5}
    assert normalize({"a": np.array([np.longdouble(2)])}) == {"a": [2.0]}
    assert config_value("lr", np.longdouble(0.25)) == 0.25
    with pytest.raises(TypeError, match="'z'"):
        normalize({"z": np.clongdouble(1 + 2j)})


def test_longdouble_round_trip_through_the_server(nbtrack_dir: Path, live_server: Any) -> None:
    run = nbtrack.init(project="regress", mode="online", base_url=live_server.url,
                       api_key=live_server.token, config={"eps": np.longdouble(0.5)})
    run.log({"x": np.longdouble(1.25)})
    run.finish(quiet=True)
    stored = nbtrack.Api(live_server.url, live_server.token).run(run.path)
    assert stored.history()[0]["x"] == 1.25
    assert stored.config["eps"] == 0.5


def test_deeply_nested_graphql_is_an_error_not_a_dropped_connection(live_server: Any) -> None:
    """The parser recursed without a limit: 500 nested selection sets (or lists) raised
    RecursionError and the server closed the connection without an answer.
    Found by test_server_fuzz::test_graphql_fuzz_never_5xx."""
    import requests

    for query in ("{ viewer { " + "a { " * 500 + "id" + " }" * 500 + " } }",
                  "mutation { upsertBucket(input: {tags: " + "[" * 500 + "]" * 500
                  + "}) { bucket { id } } }"):
        r = requests.post(f"{live_server.url}/graphql", json={"query": query},
                          auth=live_server.auth, timeout=10)
        assert r.status_code in (200, 400), r.status_code
        assert "nested deeper" in json.dumps(r.json())


def test_file_stream_offset_beyond_sqlite_integers_is_refused(live_server: Any) -> None:
    """offset 2**63 overflowed SQLite's integer inside the handler: the connection was
    dropped with no answer (and the client would retry forever). Now 400.
    Found by test_server_fuzz::test_file_stream_wrong_types_and_absurd_offsets."""
    from helpers.server import stream, upsert

    upsert(live_server, "big", "regress")
    for offset in (2**63, 2**64, 10**15):
        r = stream(live_server, "root/regress/big", {"wandb-history.jsonl": (offset, ["{}"])})
        assert r.status_code == 400, (offset, r.status_code)
        assert "offset" in r.json()["error"]
    ok = stream(live_server, "root/regress/big", {"wandb-history.jsonl": (0, ['{"_step": 0}'])})
    assert ok.status_code == 200


def test_a_line_that_is_not_json_cannot_break_the_history(live_server: Any) -> None:
    """file_stream stored any string as a history line and the read API spliced it into
    its answer: one bad line made the run's whole history invalid JSON for every reader.
    Found by test_server_fuzz::test_file_stream_wrong_types_and_absurd_offsets."""
    from helpers.server import api, stream, upsert

    upsert(live_server, "bad-lines", "regress")
    path = "root/regress/bad-lines"
    ok = stream(live_server, path, {"wandb-history.jsonl": (0, ['{"_step": 0, "a": 1}'])})
    assert ok.status_code == 200
    for line in ("not json", "[1, 2]", '"text"', "{", "", "null"):
        r = stream(live_server, path, {"wandb-history.jsonl": (1, [line])})
        assert r.status_code == 400, (line, r.status_code)
        r = stream(live_server, path, {"wandb-summary.json": (0, [line])})
        assert r.status_code == 400, (line, r.status_code)
    assert api(live_server, f"runs/{path}/history").json()["rows"] == [{"_step": 0, "a": 1}]
    assert api(live_server, f"runs/{path}").json()["summary"] == {}

"""The JSON read API: runs, one run, history (all rows, filtered, downsampled)."""

from __future__ import annotations

import json
import time

from helpers.server import RunningServer, api, gql, stream, upsert


def _entity(server: RunningServer) -> str:
    return str(gql(server, "{ viewer { entity } }")["data"]["viewer"]["entity"])


def test_runs_list_and_run_object(live_server: RunningServer) -> None:
    ent = _entity(live_server)
    upsert(live_server, "a", project="p1")
    upsert(live_server, "b", project="p2", config=json.dumps({"x": {"value": [1, 2]}}))
    all_runs = api(live_server, "runs").json()["runs"]
    assert {r["id"] for r in all_runs} == {"a", "b"}
    p2 = api(live_server, "runs", project="p2").json()["runs"]
    assert [r["id"] for r in p2] == ["b"]
    assert api(live_server, "runs", entity="someone-else").json()["runs"] == []
    run = api(live_server, f"runs/{ent}/p2/b").json()
    assert set(run) >= {
        "id",
        "entity",
        "project",
        "name",
        "state",
        "config",
        "summary",
        "tags",
        "notes",
        "group",
        "job_type",
        "created_at",
        "updated_at",
        "heartbeat_at",
        "history_line_count",
        "last_step",
        "exit_code",
    }
    assert run["config"] == {"x": [1, 2]} and run["entity"] == ent and run["last_step"] is None
    assert api(live_server, f"runs/{ent}/p2/zzz").status_code == 404
    assert api(live_server, "nothing").status_code == 404


def test_history_all_rows_filters_and_step_range(live_server: RunningServer) -> None:
    upsert(live_server, "h")
    path = f"{_entity(live_server)}/proj/h"
    rows = [json.dumps({"_step": s, "a": s * 2, "b": "t", "nan": float("nan")}) for s in range(50)]
    stream(live_server, path, {"wandb-history.jsonl": (25, rows[25:])})
    stream(live_server, path, {"wandb-history.jsonl": (0, rows[:25])})  # arrives out of order
    got = api(live_server, f"runs/{path}/history").json()["rows"]
    assert [r["_step"] for r in got] == list(range(50)) and got[0]["nan"] == "NaN"  # strict JSON
    only_a = api(live_server, f"runs/{path}/history", keys="a", min_step=10, max_step=12).json()
    assert only_a["rows"] == [
        {"_step": 10, "a": 20},
        {"_step": 11, "a": 22},
        {"_step": 12, "a": 24},
    ]
    assert api(live_server, f"runs/{path}/history", samples="x").status_code == 400
    assert api(live_server, f"runs/{path}/history", samples=0).status_code == 400


def test_history_pages_hold_every_row_once(live_server: RunningServer) -> None:
    """limit / cursor: pages in step order, next_cursor null after the last; every row once,
    rows without a step last (what nbtrack.Api reads a long run with, one page in the
    server's memory at a time). Pages follow the steps, not the lines: the even steps
    arrive first, the odd ones after them (two rows at one step cannot arrive: they are
    merged at ingest, tests/server/test_step_dedup.py)."""
    upsert(live_server, "pages")
    path = f"{_entity(live_server)}/proj/pages"
    rows = [json.dumps({"_step": s, "a": s, "inf": float("inf")}) for s in range(101)]
    stream(live_server, path, {"wandb-history.jsonl": (0, rows[0::2])})
    stream(live_server, path, {"wandb-history.jsonl": (51, [*rows[1::2], '{"a": -1}',
                                                            '{"a": -2}'])})
    got: list[dict] = []
    cursor, pages = "", 0
    while cursor is not None:
        page = api(live_server, f"runs/{path}/history", limit=25, cursor=cursor).json()
        got.extend(page["rows"])
        cursor, pages = page["next_cursor"], pages + 1
    assert [r["a"] for r in got] == [*range(101), -1, -2] and pages == 5
    assert got[0]["inf"] == "Infinity"  # strict JSON in pages too
    keyed = api(live_server, f"runs/{path}/history", keys="a", limit=10, min_step=96).json()
    assert keyed == {"rows": [{"_step": s, "a": s} for s in range(96, 101)],
                     "next_cursor": None}
    for bad in ({"limit": 0}, {"limit": 100_001}, {"limit": 5, "cursor": "x"},
                {"cursor": "3.4"}, {"limit": 5, "samples": 10}, {"limit": "x"}):
        assert api(live_server, f"runs/{path}/history", **bad).status_code == 400, bad

def test_downsampled_history_keeps_a_spike_in_100k_rows(live_server: RunningServer) -> None:
    upsert(live_server, "big")
    path = f"{_entity(live_server)}/proj/big"
    n, spike = 100_000, 61_234
    rows = [json.dumps({"_step": s, "loss": 1.0 + (s % 7) * 1e-3, "acc": s / n}) for s in range(n)]
    rows[spike] = json.dumps({"_step": spike, "loss": 1e6, "acc": spike / n})
    for start in range(0, n, 25_000):
        assert stream(
            live_server, path, {"wandb-history.jsonl": (start, rows[start : start + 25_000])}
        ).ok
    t0 = time.monotonic()
    out = api(live_server, f"runs/{path}/history", keys="loss", samples=200).json()["rows"]
    elapsed = time.monotonic() - t0
    steps = [r["_step"] for r in out]
    assert steps == sorted(steps) and len(out) <= 2 * 200 + 1
    assert {"_step": spike, "loss": 1e6} in out
    assert steps[-1] == n - 1 and all(set(r) == {"_step", "loss"} for r in out)
    both = api(live_server, f"runs/{path}/history", samples=50).json()["rows"]
    assert len(both) <= 2 * 2 * 50 + 1 and any(r.get("loss") == 1e6 for r in both)
    assert all("acc" in r and "loss" in r for r in both)
    run = api(live_server, f"runs/{path}").json()
    assert run["last_step"] == n - 1 and run["history_line_count"] == n
    assert elapsed < 5.0


def test_levels_fed_at_ingest_equal_levels_read_back(live_server: RunningServer) -> None:
    """Posts that continue a run whose levels are up to date are indexed from the rows the
    ingest parsed (not re-read); a run posted the same way but indexed from storage only
    (its first query after every post) answers the same, spikes included."""
    n, spike = 60_000, 47_123
    rows = [json.dumps({"_step": s, "loss": 1.0 + (s % 5) * 1e-3}) for s in range(n)]
    rows[spike] = json.dumps({"_step": spike, "loss": -7.5})
    ent = _entity(live_server)
    for name in ("fed", "late"):
        upsert(live_server, name)
        path = f"{ent}/proj/{name}"
        for start in range(0, n, 10_000):
            assert stream(live_server, path,
                          {"wandb-history.jsonl": (start, rows[start : start + 10_000])}).ok
            if name == "fed" and start == 20_000:  # the index exists: later posts feed it
                api(live_server, f"runs/{path}/history", keys="loss", samples=100)
    fed = api(live_server, f"runs/{ent}/proj/fed/history", keys="loss", samples=100).json()
    late = api(live_server, f"runs/{ent}/proj/late/history", keys="loss", samples=100).json()
    assert fed == late and {"_step": spike, "loss": -7.5} in fed["rows"]
    assert fed["rows"][-1]["_step"] == n - 1

def test_events_and_output_endpoints(live_server: RunningServer) -> None:
    upsert(live_server, "e")
    path = f"{_entity(live_server)}/proj/e"
    stream(
        live_server, path, {"wandb-events.jsonl": (0, ['{"gpu": 1}']), "output.log": (0, ["hi"])}
    )
    assert api(live_server, f"runs/{path}/events").json() == {"rows": [{"gpu": 1}]}
    assert api(live_server, f"runs/{path}/output").json() == {"lines": ["hi"]}


def test_sampled_history_sees_lines_posted_after_a_first_query(live_server: RunningServer) -> None:
    upsert(live_server, "live")
    path = f"{_entity(live_server)}/proj/live"
    rows = [json.dumps({"_step": s, "y": 1.0}) for s in range(100)]
    stream(live_server, path, {"wandb-history.jsonl": (0, rows)})
    first = api(live_server, f"runs/{path}/history", samples=10).json()["rows"]
    assert max(r["y"] for r in first) == 1.0
    stream(live_server, path, {"wandb-history.jsonl": (100, ['{"_step": 100, "y": 99.0}'])})
    second = api(live_server, f"runs/{path}/history", samples=10).json()["rows"]
    assert {"_step": 100, "y": 99.0} in second

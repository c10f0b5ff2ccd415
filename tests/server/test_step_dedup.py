"""History rows matched by ``_step`` as well as by line, on SQLite and PostgreSQL.

A row re-sent at another offset is stored once; a different row at a stored step is
merged into it (never a second row at that step); nbtrack's offset rule still holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbtrack.server.storage.base import Storage
from nbtrack.server.storage.stepdedup import old_steps, plan
from nbtrack.server.storage.url import open_storage

HIST = "wandb-history.jsonl"


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    url = str(tmp_path / "s.db") if request.param == "sqlite" else request.getfixturevalue(
        "postgres_url")
    st = open_storage(url)
    yield st
    st.close()


def _rows(steps: range, **extra: object) -> list[str]:
    return [json.dumps({"_step": s, "x": s * 2, "_timestamp": 1000.0 + s, **extra})
            for s in steps]


def test_resent_rows_at_new_offsets_are_stored_once(storage: Storage) -> None:
    run, _ = storage.upsert_run("e", "p", "r", {}, None)
    rid = int(run["rid"])
    rows = _rows(range(100))
    first = storage.append_lines(rid, HIST, 0, rows[:60])
    assert (first.inserted, first.merged, first.repeats) == (60, 0, 0)
    # wandb sync again: the client posts every row after the line count it was told
    again = storage.append_lines(rid, HIST, 60, rows)
    assert (again.inserted, again.merged, again.repeats) == (40, 0, 60)
    storage.append_lines(rid, HIST, 160, rows)  # and once more, all repeats
    # the same rows in another JSON spelling (key order, spaces) are repeats too
    respelled = [json.dumps(dict(reversed(list(json.loads(r).items()))), indent=1)
                 for r in rows[:10]]
    assert storage.append_lines(rid, HIST, 260, respelled).repeats == 10
    stored = [json.loads(s) for s in storage.history(rid, None, None)]
    assert [r["_step"] for r in stored] == list(range(100))
    assert stored == [json.loads(r) for r in rows]
    after = storage.get_run("e", "p", "r")
    assert after is not None and after["last_step"] == 99
    # the client's next offset stays past every line it posted
    assert after["history_line_count"] == 270


def test_a_different_row_at_a_stored_step_is_merged_not_added(storage: Storage) -> None:
    run, _ = storage.upsert_run("e", "p", "r2", {}, None)
    rid = int(run["rid"])
    storage.append_lines(rid, HIST, 0, _rows(range(30), y=1))
    # an id reused without resume: steps 0..19 again, other values, at offsets 30..49
    reused = [json.dumps({"_step": s, "x": -s, "_timestamp": 5000.0 + s}) for s in range(20)]
    done = storage.append_lines(rid, HIST, 30, reused)
    assert (done.inserted, done.merged, done.repeats) == (0, 20, 0)
    assert done.merged_steps == list(range(20))
    stored = [json.loads(s) for s in storage.history(rid, None, None)]
    assert [r["_step"] for r in stored] == list(range(30))
    # key by key, the later value wins; keys only the first row had stay
    assert stored[5] == {"_step": 5, "x": -5, "_timestamp": 5005.0, "y": 1}
    assert stored[25] == {"_step": 25, "x": 50, "_timestamp": 1025.0, "y": 1}
    # one chunk with the same step twice: one row, merged
    two = [json.dumps({"_step": 40, "a": 1}), json.dumps({"_step": 40, "b": 2})]
    done = storage.append_lines(rid, HIST, 50, two)
    assert (done.inserted, done.merged) == (1, 1)
    assert json.loads(storage.history(rid, 40, 40)[0]) == {"_step": 40, "a": 1, "b": 2}
    assert len(storage.history(rid, None, None)) == 31


def test_the_offset_rule_still_holds(storage: Storage) -> None:
    """nbtrack's own re-sends: line ``offset + i`` once; rows without a step by line only."""
    run, _ = storage.upsert_run("e", "p", "r3", {}, None)
    rid = int(run["rid"])
    rows = _rows(range(10))
    storage.append_lines(rid, HIST, 0, rows[:6])
    storage.append_lines(rid, HIST, 4, rows[4:])
    storage.append_lines(rid, HIST, 0, ['{"_step": 999}'])  # line 0 is taken: ignored
    storage.append_lines(rid, HIST, 10, ['{"no_step": 1}', '{"no_step": 1}'])
    stored = storage.history(rid, None, None)
    assert stored[:10] == rows and [json.loads(s) for s in stored[10:]] == [{"no_step": 1}] * 2
    run2 = storage.get_run("e", "p", "r3")
    assert run2 is not None and (run2["history_line_count"], run2["last_step"]) == (12, 9)


def test_plan_fast_path_and_old_steps() -> None:
    """Steps above the run's last step are neither looked up nor compared."""
    assert old_steps([5, 6, None, 7], None) == []
    assert old_steps([3, 5, 6, 5, None], 5) == [3, 5]
    lines = ['{"_step": 1}', '{"_step": 2}']
    p = plan(7, lines, [1, 2], {})
    assert p.inserts is None and p.updates == [] and p.result.inserted == 2  # as they are
    p = plan(7, [*lines, '{"_step": 2, "b": 1}'], [1, 2, 2], {})  # one step twice: merged
    assert p.inserts == [(7, 1, lines[0]), (8, 2, '{"_step":2,"b":1}')]
    # a stored row that is not JSON is kept as it is
    p = plan(0, ['{"_step": 1, "a": 2}'], [1], {1: (0, "garbage")})
    assert (p.inserts, p.updates, p.result.repeats) == ([], [], 1)

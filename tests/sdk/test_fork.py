"""A process forked from the kernel (a DataLoader worker, multiprocessing) never hangs on the
parent's run: ``log()`` refuses at once with a clear error, ``nbtrack.init()`` in the child
starts a run of its own, and the parent's run is untouched."""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.txlog import read_records

pytestmark = pytest.mark.timeout(120)


def _child_logs_to_parent_run(run: Any, out: Any) -> None:
    started = time.monotonic()
    try:
        run.log({"from_child": 1.0})
        out.put(("logged", time.monotonic() - started))
    except Exception as e:  # reported to the parent, which asserts on it
        out.put((f"{type(e).__name__}: {e}", time.monotonic() - started))
    try:
        nbtrack.log({"from_child": 2.0})
        out.put(("logged", 0.0))
    except Exception as e:
        out.put((f"{type(e).__name__}: {e}", 0.0))


def _child_starts_its_own_run(out: Any) -> None:
    try:
        child = nbtrack.init(project="fork", name="child", mode="offline")
        for i in range(10):
            child.log({"x": float(i)})
        child.finish(quiet=True)
        out.put(("ok", str(child.log_path)))
    except Exception as e:
        out.put((f"{type(e).__name__}: {e}", ""))


def test_forked_child_refuses_at_once_and_parent_goes_on(nbtrack_dir: Path) -> None:
    ctx = mp.get_context("fork")
    run = nbtrack.init(project="fork", name="parent", mode="offline")
    try:
        run.log({"loss": 1.0})
        out = ctx.Queue()
        proc = ctx.Process(target=_child_logs_to_parent_run, args=(run, out))
        proc.start()
        first, took = out.get(timeout=30)
        second, _ = out.get(timeout=30)
        proc.join(30)
        assert proc.exitcode == 0
        assert first.startswith("ForkedProcessError: nbtrack: this run belongs to process"), first
        assert "nbtrack.init() in the child" in first
        assert took < 1.0, f"the refusal took {took:.2f}s"
        assert second.startswith("RuntimeError: nbtrack.log() in a process forked from"), second
        for i in range(2, 5):
            run.log({"loss": float(i)})
    finally:
        run.finish(quiet=True)
    rows = _rows(run.log_path)
    assert [row["loss"] for row in rows] == [1.0, 2.0, 3.0, 4.0]
    assert not any("from_child" in row for row in rows)


def test_forked_child_can_start_a_run_of_its_own(nbtrack_dir: Path) -> None:
    ctx = mp.get_context("fork")
    parent = nbtrack.init(project="fork", name="parent2", mode="offline")
    try:
        out = ctx.Queue()
        proc = ctx.Process(target=_child_starts_its_own_run, args=(out,))
        proc.start()
        verdict, log_path = out.get(timeout=60)
        proc.join(30)
        assert verdict == "ok", verdict
        assert proc.exitcode == 0
        parent.log({"after": 1.0})
    finally:
        parent.finish(quiet=True)
    assert Path(log_path) != parent.log_path
    assert [row["x"] for row in _rows(Path(log_path))] == [float(i) for i in range(10)]
    assert [row["after"] for row in _rows(parent.log_path)] == [1.0]


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for r in read_records(path)
            if r.WhichOneof("record_type") == "history" for line in r.history.rows]

"""Acceptance: resume allow / must / never."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbtrack


def test_allow_continues_at_the_next_step(local_home: Path) -> None:
    first = nbtrack.init(project="resume", id="run-one", config={"a": 1})
    for i in range(100):
        first.log({"x": i, "only_before": i})
    first.finish(quiet=True)

    again = nbtrack.init(project="resume", id="run-one", resume="allow")
    assert again.resumed and again.starting_step == 100
    for i in range(100, 150):
        again.log({"x": i})
    again.finish(quiet=True)
    run = nbtrack.Api().run(again.path)
    assert run.state == "finished"
    assert [r["_step"] for r in run.history()] == list(range(150))
    assert [r["x"] for r in run.history()] == list(range(150))
    assert run.config["a"] == 1
    assert run.summary["x"] == 149
    assert run.summary["only_before"] == 99, "the resumed run keeps its earlier summary"


def test_allow_with_unknown_id_starts_fresh(local_home: Path) -> None:
    run = nbtrack.init(project="resume", id="brand-new", resume="allow")
    assert not run.resumed and run.starting_step == 0
    run.finish(quiet=True)


def test_must_on_unknown_and_never_on_known_fail_clearly(local_home: Path) -> None:
    with pytest.raises(nbtrack.InitError, match="nope"):
        nbtrack.init(project="resume", id="nope", resume="must")
    done = nbtrack.init(project="resume", id="exists")
    done.finish(quiet=True)
    with pytest.raises(nbtrack.InitError, match="exists"):
        nbtrack.init(project="resume", id="exists", resume="never")

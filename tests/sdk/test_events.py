"""A run's events, in order, and the face it shows the notebook layer (``RunView``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import nbtrack
from nbtrack.sdk.display import run_html, run_title
from nbtrack.sdk.events import (
    AlertRaised,
    Finished,
    FinishProgress,
    Listeners,
    RunEvent,
    StateChanged,
)
from nbtrack.sdk.view import RunCard, RunInfo, RunView


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbtrack.Run:
    monkeypatch.setenv("NBTRACK_DIR", str(tmp_path))
    return nbtrack.init(project="events", name="ev", mode="offline", console="off")


def test_finish_tells_listeners_its_progress_and_outcome(offline: nbtrack.Run) -> None:
    run = offline
    events: list[RunEvent] = []
    remove = run.add_listener(events.append)
    run.log({"loss": 0.5})
    assert run.alert("slow", "steps are slow")
    run.finish(quiet=True)
    remove()
    kinds = [type(e) for e in events]
    assert kinds[0] is AlertRaised and events[0] == AlertRaised("slow", "steps are slow", "INFO")
    assert events[1] == StateChanged("finishing")
    assert FinishProgress in kinds
    assert all(isinstance(e, FinishProgress) for e in events[2:-2])
    last_progress = events[-3]
    assert isinstance(last_progress, FinishProgress) and last_progress.done
    assert events[-2] == StateChanged("finished")
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert (finished.state, finished.exit_code) == ("finished", 0)
    assert finished.summary["loss"] == 0.5
    assert finished.sync_command == run.sync_command and "nbtrack sync" in str(run.sync_command)


def test_a_failing_listener_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Listeners()
    heard: list[RunEvent] = []

    def broken(event: RunEvent) -> None:
        raise RuntimeError("listener bug")

    bus.add(broken)
    remove = bus.add(heard.append)
    with caplog.at_level(logging.ERROR, logger="nbtrack.sdk.events"):
        bus.emit(StateChanged("finishing"))
    assert heard == [StateChanged("finishing")]
    assert "StateChanged" in caplog.text
    remove()
    bus.emit(StateChanged("finished"))
    assert heard == [StateChanged("finishing")] and bus  # the broken one is still there


def test_events_are_values() -> None:
    progress = FinishProgress(uploaded_bytes=3, total_bytes=4, done=False)
    assert progress.as_dict() == {"uploaded_bytes": 3, "total_bytes": 4, "uploaded_files": 0,
                                  "total_files": 0, "pending_lines": 0, "done": False}
    with pytest.raises(AttributeError):
        progress.done = True  # type: ignore[misc]


def test_a_run_is_what_the_notebook_layer_reads(offline: nbtrack.Run) -> None:
    run = offline
    assert isinstance(run, RunView) and isinstance(run, RunInfo)
    card = RunCard.of(run)
    assert card.info() == {"id": run.id, "name": "ev", "project": "events",
                           "entity": run.entity, "url": "", "mode": "offline"}
    assert run_title(card) == run_title(run) == "nbtrack run ev (events) — running"
    assert run_html(card) == run_html(run)
    run.finish(quiet=True)
    assert RunCard.of(run).state == "finished"

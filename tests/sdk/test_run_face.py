"""What the Run object itself decides, in the user's thread: argument checks, alert rate
limits, and what finish prints (the rest is the pipeline's, tested there)."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbtrack
from nbtrack.sdk.alerts import AlertLimiter, alert_record
from nbtrack.sdk.values import check_metric, check_step


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbtrack.Run:
    monkeypatch.setenv("NBTRACK_DIR", str(tmp_path))
    return nbtrack.init(project="face", name="f", mode="offline", console="off")


def test_define_metric_arguments_are_checked_in_the_callers_thread() -> None:
    assert check_metric("loss", "min, max", None) == ["min", "max"]
    assert check_metric("acc", ["best"], "maximize") == ["best"]
    with pytest.raises(ValueError, match="non-empty"):
        check_metric("", None, None)
    with pytest.raises(ValueError, match="unknown summary 'median'"):
        check_metric("loss", "median", None)
    with pytest.raises(ValueError, match="goal"):
        check_metric("loss", None, "up")
    with pytest.raises(ValueError, match="'best' needs goal"):
        check_metric("loss", "best", None)


def test_explicit_steps_are_non_negative_integers() -> None:
    assert check_step(3) == 3
    with pytest.raises(TypeError, match="integer"):
        check_step(True)
    with pytest.raises(TypeError, match="integer"):
        check_step(1.5)
    with pytest.raises(ValueError, match=">= 0"):
        check_step(-1)


def test_alert_rate_limit_is_per_title() -> None:
    limit = AlertLimiter()
    assert limit.allow("a", 300) and not limit.allow("a", 300)
    assert limit.allow("b", 300)
    assert limit.allow("a", 0)  # no wait: every alert goes
    rec = alert_record("t", "x", "WARN")
    assert (rec.alert.title, rec.alert.text, rec.alert.level) == ("t", "x", "WARN")
    assert rec.alert.timestamp > 0


def test_offline_finish_says_where_the_log_is(offline: nbtrack.Run,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    offline.log({"a": 1})
    offline.finish()
    out = capsys.readouterr().out
    assert f"offline run f saved to {offline.log_path}" in out
    assert f"send it with: nbtrack sync {offline.log_path}" in out


def test_a_finish_out_of_time_detaches_and_names_the_sync_command(
    offline: nbtrack.Run, capsys: pytest.CaptureFixture[str]
) -> None:
    offline.log({"a": 1})
    offline.finish(timeout=0)
    assert offline.state == "detached"
    err = capsys.readouterr().err
    assert "finish of run f timed out after 0s (waiting on BEGIN)" in err
    assert f"    nbtrack sync {offline.log_path}" in err


def test_run_step_follows_the_handler_and_survives_finish(offline: nbtrack.Run) -> None:
    """``run.step``: the step the next log() goes to, after everything logged before."""
    assert offline.step == 0
    for i in range(3):
        offline.log({"x": i})
    assert offline.step == 3
    offline.log({"x": 9}, step=10)  # W&B's rule: the row stays open at step 10
    assert offline.step == 10
    offline.log({"y": 1}, commit=False)
    assert offline.step == 10
    offline.finish(quiet=True)
    assert offline.step == 11  # finish committed the open row


def test_a_thread_logging_through_finish_is_named_in_the_outcome(
        offline: nbtrack.Run, capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from nbtrack.sdk.run import RunFinishedError

    started, refused = threading.Event(), []

    def trainer() -> None:
        started.set()
        try:
            while True:
                offline.log({"x": 1.0})
        except RunFinishedError as exc:
            refused.append(str(exc))

    t = threading.Thread(target=trainer, name="trainer")
    t.start()
    started.wait(5)
    offline.finish()
    t.join(10)
    assert refused, "the thread's log() was not refused after finish"
    # finish waits on the pipeline (the GIL is free), so the looping thread meets it
    assert "is finishing" in refused[0]
    err = capsys.readouterr().err
    assert "nbtrack: thread trainer called log() while run f was finishing" in err

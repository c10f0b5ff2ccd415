"""Console capture: what cells print while a run is active becomes the run's console log."""

from __future__ import annotations

import io
import sys
import threading
from typing import Any

import pytest

from nbtrack.capture import console


def _texts(api: Any, run: Any) -> list[tuple[str, str]]:
    return [(line["stream"], line["text"]) for line in api.run(run.path).console()]


def test_stdout_stderr_threads_and_progress_lines(online: Any, api: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    run = online()
    print("hello")
    print("oops", file=sys.stderr)
    for i in range(101):
        sys.stdout.write(f"\rtraining {i}%")
    sys.stdout.write("\n")
    t = threading.Thread(target=lambda: print("from a thread"))
    t.start()
    t.join()
    sys.stdout.write("x" * (console.MAX_LINE_CHARS + 50) + "\n")
    sys.stdout.write("no newline at the end")
    run.finish(quiet=True)
    seen = capsys.readouterr()
    assert "hello" in seen.out and "oops" in seen.err  # the user still sees everything
    assert "training 50%" in seen.out
    texts = _texts(api, run)
    assert texts[:4] == [("stdout", "hello"), ("stderr", "oops"), ("stdout", "training 100%"),
                         ("stdout", "from a thread")]
    assert texts[4][1].endswith("[nbtrack: line truncated, 50 more characters]")
    assert texts[5] == ("stdout", "no newline at the end")
    assert all(line["time"] for line in api.run(run.path).console())


def test_restores_streams_even_when_replaced_meanwhile(online: Any) -> None:
    before = sys.stdout, sys.stderr
    run = online()
    assert sys.stdout is not before[0]
    mine = io.StringIO()
    sys.stdout = mine  # someone else installs a stream on top of ours
    try:
        run.finish(quiet=True)
        assert sys.stdout is mine  # not taken away from them
    finally:
        sys.stdout = before[0]
    assert sys.stderr is before[1]
    run2 = online()
    run2.finish(quiet=True)
    assert (sys.stdout, sys.stderr) == before


def test_console_off(online: Any, api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    before = sys.stdout
    run = online(console="off")
    assert sys.stdout is before
    print("not recorded")
    run.finish(quiet=True)
    monkeypatch.setenv("NBTRACK_CONSOLE", "off")
    run2 = online()
    assert sys.stdout is before
    run2.finish(quiet=True)
    assert api.run(run.path).console() == []


def test_output_goes_to_the_run_that_is_active(online: Any, api: Any) -> None:
    first = online()
    print("first run")
    first.finish(quiet=True)
    print("between runs")
    second = online()
    print("second run")
    second.finish(quiet=True)
    assert [t for _, t in _texts(api, first)] == ["first run"]
    assert [t for _, t in _texts(api, second)] == ["second run"]


def test_resumed_run_appends(online: Any, api: Any) -> None:
    run = online(id="consres")
    print("line one")
    run.log({"a": 1})
    run.finish(quiet=True)
    again = online(id="consres", resume="allow")
    print("line two")
    again.finish(quiet=True)
    assert [t for _, t in _texts(api, run)] == ["line one", "line two"]


def test_line_count_bound() -> None:
    got: list[str] = []
    cap = console.ConsoleCapture(lambda lines, err, ts: got.extend(lines), max_lines=5)
    real = sys.stdout
    sys.stdout = io.StringIO()
    try:
        cap.install()
        for i in range(20):
            print(i)
        cap.uninstall()
    finally:
        sys.stdout = real
    assert got[:4] == ["0", "1", "2", "3"] and "truncated" in got[4] and len(got) == 5


def test_nbtrack_threads_are_not_recorded(online: Any, api: Any) -> None:
    run = online()
    t = threading.Thread(target=lambda: print("pipeline chatter"), name="nbtrack-sender")
    t.start()
    t.join()
    print("user line")
    run.finish(quiet=True)
    assert [t for _, t in _texts(api, run)] == ["user line"]

"""The magics in-process, in IPython's test shell, against the real ``nbtrack.init``.

Runs are offline (no server needed) except where a test says otherwise.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

import nbtrack
from nbtrack.notebook import extension, magics, widget
from nbtrack.sdk import hooks
from nbtrack.sdk.session import current_run

from helpers.wait import wait_until

OFFLINE = "--mode offline --project nbtests"


_SHELL: list[Any] = []


def _shell() -> Any:
    """IPython's global test shell (start_ipython gives it only on the first call)."""
    if not _SHELL:
        _SHELL.append(start_ipython())
    return _SHELL[0]


def _ui_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nbtrack")]


def _wait_no_threads(before: set[int], timeout: float = 10.0) -> None:
    """Until every thread started after ``before`` was taken has ended."""
    def new_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.ident not in before]

    wait_until(lambda: not new_threads(), timeout,
               message=lambda: f"threads left behind: {new_threads()}")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("NBTRACK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NBTRACK_DIR", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def ip(home: Path) -> Iterator[Any]:
    shell = _shell()
    assert shell is not None
    shell.run_line_magic("load_ext", "nbtrack")
    yield shell
    shell.run_line_magic("unload_ext", "nbtrack")
    for name in ("run", "r", "x", "y", "loss", "acc"):
        shell.user_ns.pop(name, None)


def _history(run: Any) -> dict[str, Any]:
    run.flush()
    hist = run.sampled_history(timeout=5.0)
    assert hist is not None
    return hist


# ---- %%track_init -------------------------------------------------------------------------

def test_track_init_yaml_config_and_as(ip: Any) -> None:
    ip.run_cell_magic("track_init", f"{OFFLINE} --name first --tags a,b c --notes two words "
                      "--as run", "lr: 0.01\nlayers: [64, 32]\nopt:\n  name: adam\n")
    run = ip.user_ns["run"]
    assert run is current_run() and run.state == "running"
    assert run.name == "first" and run.project == "nbtests"
    assert dict(run.config)["lr"] == 0.01
    assert dict(run.config)["layers"] == [64, 32]
    ip.run_line_magic("track_finish", "--quiet")
    assert run.state == "finished"


def test_track_init_json_body_and_line_form(ip: Any) -> None:
    ip.run_cell_magic("track_init", f"{OFFLINE} --as run", '{"lr": 0.5, "n": 3}')
    assert dict(ip.user_ns["run"].config) == {"lr": 0.5, "n": 3}
    ip.run_line_magic("track_init", f"{OFFLINE} --name lineform --as r")
    assert ip.user_ns["r"].name == "lineform" and dict(ip.user_ns["r"].config) == {}
    assert ip.user_ns["run"].state == "finished"  # re-init finished the previous run


@pytest.mark.parametrize(("body", "needle"), [
    ("lr: 0.1\nbad: [1, 2\nmore: 3\n", "line 3"),
    ('{"lr": 0.1,\n "x": }', "line 2"),
    ("lr: 0.1\n  - nope: : x\n", "line 2"),
])
def test_track_init_bad_config_names_the_line(ip: Any, body: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        ip.run_cell_magic("track_init", OFFLINE, body)
    assert current_run() is None or current_run().state != "running"


def test_track_init_config_must_be_a_mapping(ip: Any) -> None:
    with pytest.raises(UsageError, match="mapping"):
        ip.run_cell_magic("track_init", OFFLINE, "- 1\n- 2\n")


@pytest.mark.parametrize(("line", "needle"), [
    ("--bogus 1", "unrecognized arguments"),
    ("--mode sideways", "invalid choice"),
    (f"{OFFLINE} --as 1abc", "not a Python name"),
    ("--mode offline --project 'bad name!'", "project"),
])
def test_track_init_usage_errors(ip: Any, line: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        ip.run_line_magic("track_init", line)


def test_reinit_finishes_previous_without_leaking_threads(ip: Any) -> None:
    ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    first = ip.user_ns["r"]
    ip.run_line_magic("track_log", "loss=1.0")
    ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    assert first.state == "finished" and ip.user_ns["r"].state == "running"
    for _ in range(3):
        ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    wait_until(lambda: len([t for t in _ui_threads() if t.name == "nbtrack-ui"]) <= 1, 5,
               message=lambda: f"UI threads left: {[t.name for t in _ui_threads()]}")


# ---- %track_log / %%track_log -------------------------------------------------------------

def test_track_log_line_evaluates_in_user_namespace(ip: Any) -> None:
    ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    ip.user_ns["x"] = 4
    ip.run_line_magic("track_log", 'loss=x / 2 acc=max([x, 1]) * 0.1, tag="a b" lr=1e-3')
    ip.run_line_magic("track_log", "--step 5 loss=x")
    hist = _history(ip.user_ns["r"])
    assert hist["series"]["loss"]["values"] == [2.0, 4.0]
    assert hist["series"]["loss"]["steps"] == [0, 5]
    assert hist["series"]["acc"]["last"] == pytest.approx(0.4)


@pytest.mark.parametrize(("line", "needle"), [
    ("loss", "key=expression"),
    ("loss=", "no expression"),
    ("loss=(1 +", "invalid expression"),
    ("loss=undefined_name", "NameError"),
    ("_loss=1", "key=expression"),
    ("loss=object()", "cannot log"),
])
def test_track_log_errors(ip: Any, line: str, needle: str) -> None:
    ip.run_line_magic("track_init", OFFLINE)
    with pytest.raises(UsageError, match=needle):
        ip.run_line_magic("track_log", line)


def test_track_log_without_run(ip: Any) -> None:
    with pytest.raises(UsageError, match="no active run"):
        ip.run_line_magic("track_log", "loss=1")


def test_track_log_cell_with_names_and_last_dict(ip: Any) -> None:
    ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    ip.run_cell_magic("track_log", "loss acc", "loss = 0.25\nacc = 0.75\n")
    out = ip.run_cell_magic("track_log", "", "y = 3\n{'loss': y / 10, 'acc': 0.5}")
    assert out is None
    value = ip.run_cell_magic("track_log", "--step 7", "y = 2\ny * 21")
    assert value == 42  # not a dict: the value is the cell's result, only cell_time_s logged
    hist = _history(ip.user_ns["r"])
    assert hist["series"]["loss"]["values"] == [0.25, pytest.approx(0.3)]
    assert hist["series"]["cell_time_s"]["count"] == 3
    assert hist["series"]["cell_time_s"]["steps"][-1] == 7


def test_track_log_cell_errors(ip: Any) -> None:
    ip.run_line_magic("track_init", OFFLINE)
    with pytest.raises(UsageError, match="no variable named nothere"):
        ip.run_cell_magic("track_log", "nothere", "a = 1")
    with pytest.raises(UsageError, match="variable names"):
        ip.run_cell_magic("track_log", "a=1", "a = 1")
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("track_log", "", "1 / 0")


def test_keyboard_interrupt_leaves_run_usable(ip: Any) -> None:
    ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    cell = ("for i in range(10**9):\n"
            "    r.log({'loss': 1.0 / (i + 1)})\n"
            "    if i == 500:\n"
            "        raise KeyboardInterrupt\n")
    result = ip.run_cell(cell)
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    run = ip.user_ns["r"]
    assert run.state == "running"
    ip.run_line_magic("track_log", "loss=0.0")
    hist = _history(run)
    assert hist["series"]["loss"]["count"] == 502
    w = widget.widget_for(run)
    if w is not None:
        assert extension.INTERRUPT_NOTE in w.messages


# ---- finish / status / runs ---------------------------------------------------------------

def test_track_finish_options(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    ip.run_line_magic("track_finish", "--exit-code 3 --timeout 10 --quiet")
    assert ip.user_ns["r"].state == "failed" and ip.user_ns["r"].exit_code == 3
    ip.run_line_magic("track_finish", "")
    assert "no active run" in capsys.readouterr().out
    with pytest.raises(UsageError):
        ip.run_line_magic("track_finish", "--timeout soon")


def test_track_finish_leaves_the_summary_with_sparklines(ip: Any) -> None:
    """W&B's finish summary: each value with its run's sparkline, as text and static HTML
    (an inline SVG, so nbconvert and GitHub show it without the widget)."""
    from IPython.utils.capture import capture_output

    ip.run_line_magic("track_init", f"{OFFLINE} --name fin --as r")
    run = ip.user_ns["r"]
    for i in range(100):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 100, "note": "x"})
    with capture_output() as cap:
        ip.run_line_magic("track_finish", "")
    bundles = [o.data for o in cap.outputs if "text/html" in o.data]
    assert len(bundles) == 1
    text, page = bundles[0]["text/plain"], bundles[0]["text/html"]
    assert text.splitlines()[0] == "nbtrack run fin (nbtests) — finished"
    loss = next(ln for ln in text.splitlines() if ln.strip().startswith("loss"))
    assert "0.01 " in loss and loss.endswith("▁")  # 1/100 last; the curve ends at its lowest
    acc = next(ln for ln in text.splitlines() if ln.strip().startswith("acc"))
    assert acc.endswith("█") and acc.split()[-1][0] == "▁"  # rising
    assert page.count('<svg class="nbtrack-spark"') == 2  # loss and acc; "note" has none
    assert '<tr data-key="note"><td>note</td><td>x</td><td></td></tr>' in page


def test_track_status(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("track_init", f"{OFFLINE} --name stat")
    ip.run_line_magic("track_log", "loss=1")
    ip.run_line_magic("track_log", "loss=2")
    capsys.readouterr()
    ip.run_line_magic("track_status", "")
    out = capsys.readouterr().out
    assert "nbtrack run stat (nbtests) — running" in out
    assert "step:      1 (2 rows logged)" in out and "mode:      offline" in out
    with pytest.raises(UsageError):
        ip.run_line_magic("track_status", "extra")


def test_track_runs_table_from_server(ip: Any) -> None:
    for lr, loss in ((0.1, 0.5), (0.2, 0.3), (0.3, 0.9)):
        ip.run_cell_magic("track_init", "--project cmp --as r", f"lr: {lr}\n")
        ip.run_line_magic("track_log", f"loss={loss} acc={1 - loss}")
        ip.run_line_magic("track_finish", "--quiet")
    table = ip.run_line_magic("track_runs", "--project cmp --sort loss")
    bundle = table._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    losses = [r["summary"]["loss"] for r in table.rows]
    assert losses == sorted(losses) and len(losses) == 3
    assert "finished" in bundle["text/plain"] and 'class="nbtrack-runs"' in bundle["text/html"]
    desc = ip.run_line_magic("track_runs", "--project cmp --sort loss --desc --metrics acc")
    assert [r["summary"]["loss"] for r in desc.rows] == sorted(losses, reverse=True)
    assert desc.columns[-1] == "acc"


# ---- extension life -----------------------------------------------------------------------

def test_unload_reload_leave_nothing_behind(home: Path) -> None:
    shell = _shell()
    before = {t.ident for t in threading.enumerate()}
    events_before = len(shell.events.callbacks["post_run_cell"])
    shell.run_line_magic("load_ext", "nbtrack")
    assert "track_init" in shell.magics_manager.magics["cell"]
    assert extension.on_run_init in hooks.registered("run_init")
    shell.run_line_magic("track_init", f"{OFFLINE} --as r")
    shell.run_line_magic("reload_ext", "nbtrack")
    run = shell.user_ns.pop("r")
    assert run.state == "finished"  # unloading finished the open run
    shell.run_line_magic("track_init", f"{OFFLINE} --as r")
    shell.run_line_magic("track_log", "loss=1")
    shell.run_line_magic("unload_ext", "nbtrack")
    assert shell.user_ns.pop("r").state == "finished"
    _wait_no_threads(before)
    assert widget.live_widgets() == []
    assert "track_init" not in shell.magics_manager.magics["cell"]
    assert "track_log" not in shell.magics_manager.magics["line"]
    assert extension.on_run_init not in hooks.registered("run_init")
    assert len(shell.events.callbacks["post_run_cell"]) == events_before


def test_hooks_swallow_errors(ip: Any) -> None:
    extension.post_run_cell()
    extension.post_run_cell(None, "extra", unexpected=1)
    extension.post_run_cell(object())
    extension.on_run_init(object())  # not a run: logged, not raised

    def broken(run: Any) -> None:
        raise RuntimeError("boom")

    hooks.register("run_init", broken)
    try:
        ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    finally:
        hooks.unregister("run_init", broken)
    assert ip.user_ns["r"].state == "running"


def test_split_pairs_unit() -> None:
    assert magics.split_pairs("a=1 b=f(x, y=2), c='s t' d=x==1") == [
        ("a", "1"), ("b", "f(x, y=2)"), ("c", "'s t'"), ("d", "x==1")]
    assert magics.split_pairs("val/loss=1") == [("val/loss", "1")]


def test_parse_config_unit() -> None:
    assert magics.parse_config("") == {} and magics.parse_config(None) == {}
    assert magics.parse_config("# only a comment\n") == {}
    assert magics.parse_config("a: 1\nb: x") == {"a": 1, "b": "x"}


def test_nbtrack_run_attribute_is_current_run(ip: Any) -> None:
    ip.run_line_magic("track_init", f"{OFFLINE} --as r")
    assert nbtrack.current_run() is ip.user_ns["r"]

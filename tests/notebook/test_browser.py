"""The run widget in a real browser: JupyterLab, then Notebook 7, on Debian's Chromium.

Runs ``tests/notebook/browser_quickstart.ipynb`` (its loop sleeps so the live charts grow
while we watch) through the ``runmenu:run-all`` menu item and checks from the page: the badge
says running, chart points grow during the loop, the finish progress bar ends done, and the
summary table shows the last values the notebook computed. The JupyterLab run saves the
element screenshots ``docs/img/widget-running.png`` and ``docs/img/widget-finished.png``.

Facts followed (docs: /work/shared/recipes/notebook-testing.md; the browser side lives in
``tests/helpers/browser.py``): isolated Jupyter dirs, a fixed token, ``--allow-root``;
servers stopped by PID and no child process may be left. The test never skips: a missing
Chromium is a failure.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from helpers.browser import (
    JUPYTER_PAGE_ERRORS,
    PageErrors,
    chromium,
    next_frame,
    output_text,
    run_all,
    static_server,
    wait_kernel_ready,
)
from helpers.server import free_port, http_ok
from helpers.wait import wait_until, wait_until_up

pytestmark = pytest.mark.timeout(420)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = Path(__file__).with_name("browser_quickstart.ipynb")
IMG = ROOT / "docs" / "img"
TOKEN = "nbtrack-browser-test-token"
KEYS = ("grad_norm", "train/acc", "train/loss", "weird")
N_STEPS = 160


def expected_last_values() -> dict[str, float]:
    """What the notebook's loop logs last (the same formulas, computed independently)."""
    i = N_STEPS - 1
    return {
        "train/loss": round(2.0 / (1 + 0.05 * i) + 0.05 * math.sin(i), 6),
        "train/acc": round(min(0.99, 0.1 + 0.005 * i), 6),
        "grad_norm": round(1 + 0.1 * math.cos(i / 3), 6),
        "weird": round(0.5 + 0.001 * i, 6),
    }


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    home: Path
    nbtrack_dir: Path
    log: Path
    seen: dict[int, str] = field(default_factory=dict)  # pid -> cmdline of every descendant

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def remember_children(self) -> None:
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    self.seen[child.pid] = " ".join(child.cmdline())[:200]


def _write_settings(settings: Path) -> None:
    """No news / update-check toast, no autosave churn."""
    notif = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notif.parent.mkdir(parents=True, exist_ok=True)
    notif.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    docm = settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings"
    docm.parent.mkdir(parents=True, exist_ok=True)
    docm.write_text(json.dumps({"autosave": False}))


@contextlib.contextmanager
def jupyter(app: str, tmp: Path) -> Iterator[Server]:
    """``python -m jupyterlab`` or ``python -m notebook`` on 127.0.0.1 with isolated dirs."""
    home = tmp / f"{app}-root"
    home.mkdir()
    shutil.copy(NOTEBOOK, home / NOTEBOOK.name)
    dirs = {name: tmp / f"{app}-{name.lower()}" for name in (
        "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}
    for d in dirs.values():
        d.mkdir()
    _write_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    nbtrack_dir = tmp / f"{app}-nbtrack-home"
    nbtrack_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env.update({k: str(v) for k, v in dirs.items()})
    env["NBTRACK_DIR"] = str(nbtrack_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "kernel"), *filter(None, [os.environ.get("PYTHONPATH")])])
    port = free_port()
    log = tmp / f"{app}-server.log"
    cmd = [
        sys.executable, "-m", "jupyterlab" if app == "lab" else "notebook",
        "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={home}", "--ServerApp.open_browser=False",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, port, home, nbtrack_dir, log)
    try:
        wait_until_up(proc, lambda: http_ok(f"{server.base}/api/status?token={TOKEN}"), 60,
                      f"the {app} server (/api/status)", log)
        yield server
    finally:
        _stop(server)


def _terminate(pid: int, deadline: float) -> bool:
    """SIGTERM, then SIGKILL after ``deadline`` seconds; True when it ended in time."""
    try:
        p = psutil.Process(pid)
        p.send_signal(signal.SIGTERM)
        p.wait(deadline)
        return True
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.Error):
            p.kill()
            p.wait(5)
        return False


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def _stop(server: Server) -> None:
    """Stop the Jupyter server (it shuts its kernels down), then the nbtrack server the
    kernel started (detached by design, found through its state file); fail when any
    process the test saw is still there afterwards."""
    server.remember_children()
    _terminate(server.proc.pid, 20)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.proc.wait(5)
    state = server.nbtrack_dir / "server" / "state.json"
    if state.is_file():
        with contextlib.suppress(ValueError, OSError, KeyError):
            pid = int(json.loads(state.read_text())["pid"])
            if pid in server.seen or "nbtrack" in " ".join(psutil.Process(pid).cmdline()):
                _terminate(pid, 10)
    left: dict[int, str] = {}
    # zombies count as gone: nobody may reap the orphans of the killed server here
    with contextlib.suppress(AssertionError):  # what is still there is killed, then reported
        wait_until(lambda: not any(_alive(pid) for pid in server.seen), timeout=10)
    for pid, cmd in server.seen.items():
        with contextlib.suppress(psutil.Error):
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                left[pid] = cmd
                p.kill()
    assert not left, f"processes left behind after stopping the server: {left}"


# ---- the page ------------------------------------------------------------------------------

_POINTS = """(key) => {
    const c = document.querySelector(`.nbtrack-chart[data-key="${key}"]`);
    return c ? Number(c.dataset.points) : -1;
}"""
_RUNNING = """() => {
    const b = document.querySelector('.nbtrack-badge');
    return !!b && b.dataset.state === 'running';
}"""
# Every value a chart's data-points takes, recorded by the page on each DOM change (not
# sampled by the test): window.__nbtPoints, distinct consecutive values > 0.
_RECORD_POINTS = f"""(key) => {{
    const seen = window.__nbtPoints = [];
    const read = () => {{
        const n = ({_POINTS})(key);
        if (n > 0 && (seen.length === 0 || seen[seen.length - 1] !== n)) seen.push(n);
    }};
    read();
    new MutationObserver(read).observe(document.body, {{
        subtree: true, childList: true, attributes: true, attributeFilter: ['data-points']}});
}}"""


def _points(page: Any, key: str) -> int:
    return int(page.evaluate(_POINTS, key))


def _wait_points_or_end(page: Any, key: str, n: int, timeout_s: float) -> None:
    """Until chart ``key`` shows ``n`` points or the badge no longer says running."""
    page.wait_for_function(
        f"([key, n]) => !({_RUNNING})() || ({_POINTS})(key) >= n", arg=[key, n],
        timeout=timeout_s * 1000)


def drive(app: str, server: Server, browser: Any, shots: bool) -> dict[str, Any]:
    """Open the notebook, run all, assert on the widget; returns timings for the report."""
    t0 = time.monotonic()
    url = (f"{server.base}/lab/tree/{NOTEBOOK.name}" if app == "lab"
           else f"{server.base}/notebooks/{NOTEBOOK.name}") + f"?token={TOKEN}"
    context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                  device_scale_factor=2 if shots else 1)
    page = context.new_page()
    errors = PageErrors(page, allowed=JUPYTER_PAGE_ERRORS)
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=60_000)
        page.locator(".jp-Notebook").first.wait_for(state="attached", timeout=60_000)
        wait_kernel_ready(page)
        server.remember_children()
        run_all(page)
        t_run = time.monotonic()

        widget = page.locator(".nbtrack-widget").first
        widget.wait_for(state="attached", timeout=60_000)
        badge = page.locator(".nbtrack-badge").first
        page.wait_for_function(_RUNNING, timeout=30_000)
        assert badge.text_content().strip().lower() == "running"
        server.remember_children()

        # Chart points grow while the loop runs (the page records every value they take);
        # past 60 % of the loop, while still running, the README shot.
        page.evaluate(_RECORD_POINTS, "train/loss")
        shot = False
        if shots:
            _wait_points_or_end(page, "train/loss", math.ceil(0.6 * N_STEPS), 60)
            if badge.get_attribute("data-state") == "running" and _points(
                    page, "train/loss") < N_STEPS:
                IMG.mkdir(parents=True, exist_ok=True)
                widget.scroll_into_view_if_needed()
                widget.screenshot(path=str(IMG / "widget-running.png"))
                shot = True
        _wait_points_or_end(page, "train/loss", N_STEPS, 60)
        seen: list[int] = page.evaluate("window.__nbtPoints")
        growth = sorted(set(seen))
        assert len(growth) >= 3 and seen == sorted(seen), f"points did not grow live: {seen}"
        assert page.locator(".nbtrack-chart").count() == len(KEYS)
        assert shot or not shots, f"the loop ended before a running screenshot: {seen}"

        # Finish: the progress bar reaches the end, then the summary table.
        done = page.locator('.nbtrack-progress[data-done="true"]').first
        done.wait_for(state="attached", timeout=90_000)
        assert float(done.get_attribute("data-fraction")) == pytest.approx(1.0)
        page.wait_for_function(
            "() => document.querySelectorAll('.nbtrack-summary tr[data-key]').length"
            f" >= {len(KEYS)}",
            timeout=30_000)
        page.wait_for_function(
            "() => { const b = document.querySelector('.nbtrack-badge');"
            " return b && b.dataset.state === 'finished'; }", timeout=30_000)
        t_done = time.monotonic()

        printed = output_text(page, "EXPECTED", 30).strip()
        notebook_values = json.loads(printed.split("EXPECTED", 1)[1].strip().splitlines()[0])
        rows = page.evaluate(
            """() => Object.fromEntries([
                 ...document.querySelectorAll('.nbtrack-summary tr[data-key]')]
                 .map(tr => [tr.dataset.key, [tr.dataset.value ?? null,
                   tr.querySelector('.nbtrack-summary-value').textContent]]))""")
        ours = expected_last_values()
        for key in KEYS:
            assert key in rows, f"summary row {key!r} missing: {rows}"
            raw, shown = rows[key]
            assert notebook_values[key] == pytest.approx(ours[key], rel=1e-12), key
            assert raw is not None, f"{key}: no data-value ({shown})"
            assert float(raw) == pytest.approx(notebook_values[key], rel=1e-9), (key, raw, shown)
        final_points = _points(page, "train/loss")
        assert final_points == N_STEPS, f"expected all {N_STEPS} points drawn, got {final_points}"
        output_text(page, "ALL DONE", 30)

        if shots:
            widget.scroll_into_view_if_needed()
            page.mouse.move(5, 5)
            widget.screenshot(path=str(IMG / "widget-finished.png"))

        _check_interaction(page, app)

        errors.check()
        return {"app": app, "open_to_run_s": round(t_run - t0, 1),
                "run_to_finished_s": round(t_done - t_run, 1), "points_seen": seen}
    finally:
        context.close()


def _check_interaction(page: Any, app: str) -> None:
    """Hover shows the value at a step; the metric picker hides a chart and syncs
    ``selected`` back to the kernel (read back by running a new cell)."""
    chart = page.locator('.nbtrack-chart[data-key="train/acc"]').first
    chart.scroll_into_view_if_needed()
    plot = chart.locator(".nbtrack-chart-plot")
    box = plot.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "() => { const c = document.querySelector('.nbtrack-chart[data-key=\"train/acc\"]');"
        " return c && c.dataset.hoverStep !== undefined"
        " && !c.querySelector('.nbtrack-tip').hidden; }",
        timeout=10_000)
    hover_step = int(chart.get_attribute("data-hover-step"))
    assert 0 < hover_step < N_STEPS - 1
    tip = chart.locator(".nbtrack-tip").text_content()
    assert f"step {hover_step}" in tip.replace(",", ""), tip
    page.mouse.move(5, 5)

    page.locator('.nbtrack-chip[data-key="weird"]').first.click()
    page.wait_for_function(
        "() => document.querySelectorAll('.nbtrack-chart').length === 3"
        " && !document.querySelector('.nbtrack-chart[data-key=\"weird\"]')", timeout=10_000)
    # Read `selected` back from the kernel in a new cell below the last one.
    last = page.locator(".jp-Notebook .jp-Cell").last
    last.click()
    page.keyboard.press("Escape")
    page.evaluate("() => { window.__nbtOldCell ="
                  " document.querySelector('.jp-Notebook .jp-Cell.jp-mod-active'); }")
    page.keyboard.press("b")
    # the new (empty) cell is the active one ...
    page.wait_for_function(
        "() => { const a = document.querySelector('.jp-Notebook .jp-Cell.jp-mod-active');"
        " return !!a && a !== window.__nbtOldCell; }", timeout=10_000)
    page.keyboard.press("Enter")
    # ... and its editor has the focus: typing goes there, not to command-mode shortcuts
    page.wait_for_function(
        "() => { const a = document.querySelector('.jp-Notebook .jp-Cell.jp-mod-active');"
        " const f = document.activeElement;"
        " return !!a && a !== window.__nbtOldCell && !!f && a.contains(f)"
        " && !!f.closest('.cm-editor'); }", timeout=10_000)
    page.keyboard.type(
        "from nbtrack.notebook.widget import live_widgets; "
        "print('SELECTED', sorted(live_widgets()[-1].selected))")
    page.keyboard.press("Shift+Enter")
    text = output_text(page, "SELECTED", 30)
    assert "['grad_norm', 'train/acc', 'train/loss']" in text, (app, text)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_run_widget_live_in_browser(app: str, browser: Any, tmp_path: Path) -> None:
    with jupyter(app, tmp_path) as server:
        report = drive(app, server, browser, shots=(app == "lab"))
    print(json.dumps(report))


# ---- the front end alone, on the dev harness (a fake model replays trait changes) ------------

def _harness(page: Any, js: str) -> None:
    """Run ``js`` on the harness, then wait until the widget has drawn what it changed
    (redraws are coalesced into the next animation frame)."""
    page.evaluate(js)
    next_frame(page)


def test_widget_states_on_harness(browser: Any) -> None:
    """States, deltas, ±inf markers, coalesced redraws and the finish bar, without Jupyter."""
    with static_server(ROOT) as base:
        context = browser.new_context(viewport={"width": 1000, "height": 900})
        page = context.new_page()
        errors = PageErrors(page)
        try:
            page.goto(f"{base}/js/dev/harness.html")
            page.wait_for_function("window.harnessReady === true", timeout=20_000)
            assert page.locator(".nbtrack-badge").get_attribute("data-state") == "running"
            assert page.locator(".nbtrack-empty").is_visible()

            # 40 updates in one task: one redraw (coalesced per animation frame).
            page.evaluate("""() => {
                window.__draws = 0;
                new MutationObserver((ms) => { window.__draws += ms.filter(
                    m => m.attributeName === 'data-points').length; })
                  .observe(document.body, { subtree: true, attributes: true });
                for (let i = 0; i < 40; i += 1) harness.advance(10);
            }""")
            page.wait_for_function("document.querySelectorAll('.nbtrack-chart').length === 5")
            next_frame(page)  # a redraw per update would have happened by now
            draws = page.evaluate("window.__draws")
            assert 1 <= draws <= 5, f"{draws} data-points changes for 5 charts after 40 updates"
            points = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
                '.nbtrack-chart')].map(c => [c.dataset.key, Number(c.dataset.points)]))""")
            assert points["val/loss"] == 8 and points["train/loss"] > 8, points
            assert page.locator(".nbtrack-step").text_content() == "400"

            # A delta with one key: the other charts keep their data.
            _harness(page, "harness.delta(['lr'], 600)")
            after = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
                '.nbtrack-chart')].map(c => [c.dataset.key, Number(c.dataset.points)]))""")
            assert after["val/loss"] == points["val/loss"]
            assert after["train/loss"] == points["train/loss"]
            assert after["lr"] >= points["lr"]
            # grad/norm: +inf at step 900 is not in the update yet; send it, see the marker.
            _harness(page, "harness.advance(0)")
            inf = page.locator('.nbtrack-chart[data-key="grad/norm"] .nbtrack-inf')
            inf.first.wait_for(state="attached", timeout=5_000)
            marks = inf.count()
            assert marks == 1
            foot = page.locator('.nbtrack-chart[data-key="grad/norm"] .nbtrack-chart-foot')
            assert "1 NaN" in foot.text_content()

            _harness(page, "harness.retrying()")
            page.wait_for_selector(".nbtrack-badge[data-state=retrying]", timeout=5_000)
            badge = page.locator(".nbtrack-badge")
            assert badge.get_attribute("data-state") == "retrying"
            assert badge.text_content() == "retrying · HTTP 503 · retry 3"
            assert "HTTP 503" in page.locator(".nbtrack-network").text_content()
            assert page.locator(".nbtrack-messages li").count() == 1

            _harness(page, "harness.finishing(0.5)")
            page.wait_for_selector(".nbtrack-badge[data-state=finishing]", timeout=5_000)
            bar = page.locator(".nbtrack-progress")
            assert bar.get_attribute("data-done") == "false"
            assert float(bar.get_attribute("data-fraction")) == pytest.approx(0.5, abs=1e-3)
            assert page.locator(".nbtrack-network").is_hidden()

            _harness(page, "harness.finished()")
            page.wait_for_selector(".nbtrack-badge[data-state=finished]", timeout=5_000)
            assert bar.get_attribute("data-done") == "true"
            assert bar.get_attribute("data-fraction") == "1.000"
            keys = page.evaluate("""() => [...document.querySelectorAll(
                '.nbtrack-summary tr[data-key]')].map(tr => tr.dataset.key)""")
            assert keys == ["epochs", "grad/norm", "lr", "train/acc", "train/loss", "val/loss"]
            row = page.locator('.nbtrack-summary tr[data-key="grad/norm"]')
            assert row.locator(".nbtrack-summary-value").text_content() == "+∞"
            assert row.locator(".nbtrack-spark path").count() == 1

            # Picker: hide one chart; `selected` is saved to the model; "all" restores.
            page.locator('.nbtrack-chip[data-key="lr"]').click()
            page.wait_for_function(
                "!document.querySelector('.nbtrack-chart[data-key=\"lr\"]')", timeout=5_000)
            next_frame(page)
            assert page.locator(".nbtrack-chart").count() == 4
            assert page.evaluate("harness.model.saved.at(-1)") == [
                "grad/norm", "train/acc", "train/loss", "val/loss"]
            page.locator(".nbtrack-chip-all").click()
            page.wait_for_selector('.nbtrack-chart[data-key="lr"]', timeout=5_000)
            next_frame(page)
            assert page.locator(".nbtrack-chart").count() == 5
            assert page.evaluate("harness.model.get('selected')") == []
            errors.check()
        finally:
            context.close()

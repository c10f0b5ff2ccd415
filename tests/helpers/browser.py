"""Chromium through Playwright, set up one way for every browser test.

Facts followed (docs: /work/shared/recipes/notebook-testing.md): Debian's Chromium via
``executable_path`` (``playwright install`` cannot download here), headless with the flags
below; a missing Chromium is a failure, never a skip. In Jupyter: wait for an idle kernel
with a real name before ``runmenu:run-all`` (else Run All opens a kernel dialog); off-screen
cells are not rendered, so outputs are waited for with ``state="attached"``.

Every wait here is a Playwright wait on the page's own state (``wait_for_function``,
``wait_for``), never a timeout: a test that sleeps and then checks passes whenever the page
is slower than the sleep.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("NBTRACK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Notebook 7.6.5 always logs this harmless page error (recipe); only Jupyter pages allow it.
JUPYTER_PAGE_ERRORS = ("reading 'schema'",)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium "
                    "(playwright install cannot download browsers here; scripts/test.sh "
                    "installs it when run as root)")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium ``Browser``, closed afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class PageErrors:
    """Collects a page's uncaught errors (and, with ``console=True``, its console errors);
    ``check()`` fails on any not matched by ``allowed``."""

    def __init__(self, page: Any, *, console: bool = False,
                 allowed: tuple[str, ...] = ()) -> None:
        self.errors: list[str] = []
        self.allowed = allowed
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        if console:
            page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                    else None)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]

    def check(self) -> None:
        unexpected = self.unexpected()
        assert not unexpected, f"page errors: {unexpected}"


def _timeout_error() -> type[Exception]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    return PlaywrightTimeoutError


_KERNEL_STATE = """() => {
    const name = document.querySelector('.jp-Toolbar-kernelName');
    const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
    return [name ? name.textContent.trim() : '',
            ind ? ind.getAttribute('data-status') : ''].join('|');
}"""


def wait_kernel_ready(page: Any, timeout: float = 60.0) -> None:
    """Idle AND a kernel name that is not "No Kernel" (else Run All opens a dialog)."""
    ready = f"""() => {{
        const [name, status] = ({_KERNEL_STATE})().split('|');
        return name !== '' && name !== 'No Kernel' && status === 'idle';
    }}"""
    try:
        page.wait_for_function(ready, timeout=timeout * 1000)
    except _timeout_error():
        last = page.evaluate(_KERNEL_STATE)
        pytest.fail(f"kernel not ready in {timeout:g}s (kernel name | status = {last!r})")


def run_all(page: Any) -> None:
    """Run ▸ Run All Cells, i.e. the ``runmenu:run-all`` command, through the menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    item = page.locator('.lm-Menu-item[data-command="runmenu:run-all"]')
    item.wait_for(state="visible", timeout=10_000)
    item.click()


def output_text(page: Any, marker: str, timeout: float) -> str:
    """The text of the first cell output containing ``marker`` (waited for, attached)."""
    loc = page.locator(".jp-OutputArea-output", has_text=marker).first
    loc.wait_for(state="attached", timeout=timeout * 1000)
    return str(loc.text_content())


def next_frame(page: Any) -> None:
    """Until the page has drawn two more animation frames: whatever was scheduled for the
    next frame (the widget coalesces its redraws per frame) has been drawn by then."""
    page.evaluate("() => new Promise(done => requestAnimationFrame("
                  "() => requestAnimationFrame(() => done(true))))")


@contextlib.contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """``directory`` over HTTP on 127.0.0.1 (the widget's dev harness lives in ``js/``)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

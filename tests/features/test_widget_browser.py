"""The widget's System section renders in a real browser (dev harness, no Jupyter)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def base_url() -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(ROOT)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_system_section_and_messages(base_url: str) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium "
                    "(scripts/test.sh does this when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base_url}/js/dev/harness.html")
            page.wait_for_function("window.harnessReady === true", timeout=20_000)
            assert page.locator(".nbtrack-system").is_hidden()
            page.evaluate("""() => harness.model.update({
                system: {
                  'system.cpu': {t: [0, 1, 2], v: [10, 55.5, 20], last: 20},
                  'system.proc.memory.rssMB': {t: [0, 1, 2], v: [80, 81, 90.25], last: 90.25},
                  'system.gpu.0.gpu': {t: [0, 1, 2], v: [0, 99, 'NaN'], last: 'NaN'},
                },
                messages: ['WARN alert: check: look at the loss',
                           'stop requested: the run stops at its next log()'],
            })""")
            page.wait_for_selector(".nbtrack-system-card", timeout=5_000)
            cards = page.evaluate("""() => [...document.querySelectorAll(
                '.nbtrack-system-card')].map(c => [c.dataset.key, c.dataset.points,
                c.querySelector('.nbtrack-system-key').textContent,
                c.querySelector('.nbtrack-system-last').textContent,
                !!c.querySelector('path')])""")
            assert [c[0] for c in cards] == ["system.cpu", "system.proc.memory.rssMB",
                                             "system.gpu.0.gpu"]
            assert cards[0][1:] == ["3", "CPU % (machine)", "20", True]
            assert cards[1][2] == "RSS MB (process)" and cards[1][3].startswith("90.2")
            assert cards[2][2] == "gpu.0.gpu"
            assert page.locator(".nbtrack-system").is_visible()
            msgs = page.locator(".nbtrack-messages li").all_text_contents()
            assert msgs[-1].startswith("stop requested")
            assert not errors, errors
        finally:
            browser.close()

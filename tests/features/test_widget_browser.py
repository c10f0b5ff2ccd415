"""The widget's System section renders in a real browser (dev harness, no Jupyter)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.browser import PageErrors, chromium, static_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def base_url() -> Iterator[str]:
    with static_server(ROOT) as url:
        yield url


def test_system_section_and_messages(base_url: str) -> None:
    with chromium() as browser:
        page = browser.new_page()
        errors = PageErrors(page)
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
        errors.check()

"""Screenshot the widget harness (design check, no kernel needed).

python js/dev/shoot.py [OUTDIR]  → harness-running.png, harness-finished.png, harness-dark.png
"""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]  # the harness loads the built bundle
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/nbtrack-harness")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/js/dev/harness.html"
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 960, "height": 900}, device_scale_factor=2)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(url)
            page.wait_for_function("window.harnessReady === true")
            w = page.locator(".nbtrack-widget")
            for _ in range(10):
                page.evaluate("harness.advance(80)")
                page.wait_for_timeout(30)
            page.locator(".nbtrack-chart").nth(1).hover(position={"x": 150, "y": 60})
            page.wait_for_timeout(100)
            w.screenshot(path=str(OUT / "harness-running.png"))
            page.evaluate("harness.retrying()")
            page.wait_for_timeout(100)
            w.screenshot(path=str(OUT / "harness-retrying.png"))
            page.evaluate("harness.finishing(0.6)")
            page.wait_for_timeout(100)
            w.screenshot(path=str(OUT / "harness-finishing.png"))
            page.evaluate("harness.finished()")
            page.mouse.move(0, 0)
            page.wait_for_timeout(100)
            w.screenshot(path=str(OUT / "harness-finished.png"))
            page.evaluate("harness.dark(true)")
            page.wait_for_timeout(100)
            w.screenshot(path=str(OUT / "harness-dark.png"))
            page.locator(".nbtrack-chip[data-key='lr']").click()
            page.wait_for_timeout(100)
            print("selected after click:", page.evaluate("harness.model.get('selected')"))
            print("points:", page.evaluate(
                "[...document.querySelectorAll('.nbtrack-chart')]"
                ".map(c => c.dataset.key + '=' + c.dataset.points)"))
            browser.close()
    finally:
        httpd.shutdown()
    print("errors:", errors)
    print("wrote", OUT)


if __name__ == "__main__":
    main()

"""Every link nbtrack prints opens its page for the person who reads it, with no manual step.

Each printed link is opened in Chromium (Playwright) in a FRESH browser context and must land
on the run page (the run's name in its head) or the runs table (a run's row with its name),
never on a login form:

- Inside Jupyter, JupyterLab under ``base_url`` ``/user/alice/`` and ``/``: a notebook is run
  from Lab's own UI, so its kernel is started by that Jupyter server and gets the
  environment the extension exports the way every kernel does. It prints through
  ``%track_status``, ``%track_finish``, ``Run.finish``, ``nbtrack sync``, ``nbtrack ui``
  (the runs table and a run) and ``scripts/run_quickstart.py`` (``!`` commands: processes
  started from the kernel, like a Jupyter terminal). Every URL in the outputs must be a
  clickable ``<a>`` in Lab's page, absolute, on Jupyter's origin. The fresh context is the
  reader's browser: logged in to Jupyter (its login form and Jupyter's token) and nothing
  else, so no nbtrack cookie.
- Outside Jupyter: ``scripts/run_quickstart.py`` (its nbclient kernel runs the quickstart's
  ``%track_finish`` and ``%track_status``) and the CLI (``ui``, ``ui <run>``, ``ui --open``,
  ``sync``), in processes without the extension's variable. The fresh context has no cookie
  at all: the links log it in, once.

Every problem is collected and reported at the end, so one run shows all broken links.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_helpers import ROOT, TOKEN, Jupyter, open_in_lab, start_jupyter

from helpers.browser import chromium

pytestmark = pytest.mark.timeout(600)

URL = re.compile(r"https?://[^\s)'\"<>]+")
RUN_PATH = re.compile(r"/runs/([^/?#]+)/([^/?#]+)/([^/?#]+)$")
QUICKSTART = ROOT / "scripts" / "run_quickstart.py"


def _cells(tag: str) -> list[str]:
    return [
        "%load_ext nbtrack\nimport sys\nimport nbtrack",
        f"%%track_init --project links --name magic-{tag} --as run\nlr: 0.1",
        "for i in range(30):\n    run.log({'x': i * 0.5})",
        "%track_status",
        "%track_finish",
        f"sdk = nbtrack.init(project='links', name='sdk-{tag}')\nsdk.log({{'y': 1.0}})\n"
        "sdk.finish()",
        f"off = nbtrack.init(project='links', name='synced-{tag}', mode='offline')\n"
        "off.log({'z': 2.0})\noff.finish(quiet=True)",
        "!{sys.executable} -m nbtrack sync {off.log_path}",
        "!{sys.executable} -m nbtrack ui",
        "!{sys.executable} -m nbtrack ui {run.path}",
        f"!{{sys.executable}} {QUICKSTART}",
        "print('DONE', run.path)",
    ]


def _target(url: str) -> str | None:
    """The run path a link opens (``e/p/id``), or None for the runs table."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path
    if path.endswith("/pages/login"):
        path = urllib.parse.parse_qs(parts.query).get("next", [""])[0]
    m = RUN_PATH.search(path)
    return "/".join(urllib.parse.unquote(g) for g in m.groups()) if m else None


def _names() -> dict[str, str]:
    import nbtrack

    api = nbtrack.Api()
    return {r.path: str(r.name) for project in ("links", "quickstart")
            for r in api.runs(project=project)}


def _log_in_to_jupyter(page: Any, jup: Jupyter) -> None:
    """What the notebook's reader did once: Jupyter's login form (with its token)."""
    nxt = urllib.parse.quote(jup.base_url + "api/status")
    page.goto(f"{jup.base}login?next={nxt}")
    page.fill("#password_input", TOKEN)
    with page.expect_navigation():
        page.click("#login_submit")
    assert "/login" not in page.url, page.url


def _opens(browser: Any, url: str, names: dict[str, str], table_run: str,
           jup: Jupyter | None) -> str | None:
    """None when ``url`` lands on its page in a fresh context; else what went wrong."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    target = _target(url)
    path = target or table_run
    if path not in names:
        return f"{url}: no run {path} on the server"
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        if jup is not None:
            _log_in_to_jupyter(page, jup)
        cookies = [c["name"] for c in ctx.cookies()]
        assert "nbtrack_session" not in cookies, cookies
        page.goto(url)
        where = ".nbt-run-head .nbt-run-name" if target else (
            f"tr[data-run='{path}'] td[data-col=name]")
        try:
            page.wait_for_selector(where, timeout=20_000)
        except PlaywrightTimeout:
            body = page.locator("body").inner_text()[:200].replace("\n", " | ")
            return f"{url} landed on {page.url}: {body!r}"
        if page.locator(where).first.inner_text().strip() != names[path]:
            return f"{url}: {where} is not {names[path]!r}"
        if page.locator("form.nbt-login, input[name=password]").count():
            return f"{url}: a login form on {page.url}"
        return None
    finally:
        ctx.close()


def _lab_outputs(page: Any) -> tuple[str, list[str]]:
    """All output text of the notebook, and every href of a link in the outputs."""
    text = "\n".join(page.locator(".jp-OutputArea-output").all_text_contents())
    hrefs = page.locator(".jp-OutputArea-output a[href]").evaluate_all(
        "els => els.map(e => e.href)")
    return text, hrefs


@pytest.mark.parametrize("base_url", ["/user/alice/", "/"])
def test_links_printed_inside_jupyter(nbtrack_home: Path, tmp_path: Path, base_url: str
                                      ) -> None:
    tag = "hub" if base_url != "/" else "root"
    problems: list[str] = []
    with start_jupyter(tmp_path / "lab", nbtrack_home, app="jupyterlab",
                       base_url=base_url) as jup, chromium() as browser:
        page, errors = open_in_lab(browser, jup, _cells(tag), "links")
        done = page.locator(".jp-OutputArea-output", has_text="DONE").first
        done.wait_for(state="attached", timeout=300_000)
        text, hrefs = _lab_outputs(page)
        magic_path = str(done.text_content()).split("DONE", 1)[1].split()[0]
        pages = re.escape(jup.base + "nbtrack/")
        expected_kinds = {
            "%track_status": r"page: +(https?://\S+)",
            "%track_finish": rf"run magic-{tag} finished: (\S+)",
            "Run.finish": rf"run sdk-{tag} finished: (\S+)",
            "nbtrack sync": r"synced .* → run \S+: .*\n\s*page: (\S+)",
            "nbtrack ui": rf"^({pages})$",
            "nbtrack ui RUN": rf"^({pages}runs/{re.escape(magic_path)})$",
            "quickstart's finish": r"run first-run finished: (\S+)",
            "quickstart": r"The quickstart's run:\s+page: +(\S+)",
        }
        for what, pattern in expected_kinds.items():
            if not re.search(pattern, text, re.M):
                problems.append(f"{what} printed no link: {pattern!r} not in the outputs")
        printed = URL.findall(text)
        names = _names()
        for url in printed:
            if not url.startswith(jup.base + "nbtrack/"):
                problems.append(f"{url}: not an absolute link through Jupyter ({jup.base})")
                continue
            if url not in hrefs:
                problems.append(f"{url}: not a clickable link in Lab's output")
            problem = _opens(browser, url, names, magic_path, jup)
            if problem:
                problems.append(problem)
        errors.check()
    assert not problems, "\n".join(problems)


def _outside_env(home: Path) -> dict[str, str]:
    """A process outside Jupyter: no NBTRACK_JUPYTER_PAGES, the test's NBTRACK_DIR."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env["NBTRACK_DIR"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "kernel"), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nbtrack", *args], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_links_printed_outside_jupyter(nbtrack_home: Path, tmp_path: Path) -> None:
    import nbtrack

    env = _outside_env(nbtrack_home)
    executed = tmp_path / "quickstart-out.ipynb"
    quick = subprocess.run([sys.executable, str(QUICKSTART), "--output", str(executed)],
                           env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert quick.returncode == 0, quick.stdout + quick.stderr
    nb = nbformat.read(executed, as_version=4)
    outputs = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    status = re.search(r"page: +(https?://\S+)", outputs)
    finish = re.search(r"run first-run finished: (\S+)", outputs)
    summary = re.search(r"The quickstart's run:\s+page: +(\S+)", quick.stdout)
    assert status and finish and summary, (outputs, quick.stdout)
    run_path = _target(summary.group(1))
    assert run_path is not None
    offline = nbtrack.init(project="links", name="synced-outside", mode="offline")
    offline.log({"z": 1.0})
    offline.finish(quiet=True)
    cli_out = [_cli(env, "ui"), _cli(env, "ui", run_path),
               _cli(env, "ui", run_path.split("/", 1)[1]),  # project/id: the default entity
               _cli(env, "sync", str(offline.log_path))]
    # --open hands the link to the user's browser through webbrowser (BROWSER names it:
    # here a program that keeps what it was given) and prints no code itself
    handed = tmp_path / "browser-was-given.txt"
    browser_cmd = tmp_path / "browser.sh"
    browser_cmd.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{handed}"\n')
    browser_cmd.chmod(0o755)
    opened = _cli({**env, "BROWSER": str(browser_cmd)}, "ui", run_path, "--open")
    assert opened.strip() == f"nbtrack: opened run {run_path} in your browser", opened
    printed = {
        "%track_status (quickstart kernel)": status.group(1),
        "%track_finish (quickstart kernel)": finish.group(1),
        "run_quickstart.py": summary.group(1),
        **{f"nbtrack {i}": u for i, out in enumerate(cli_out) for u in URL.findall(out)},
        "nbtrack ui --open": handed.read_text().strip(),
    }
    # every URL the quickstart printed is one of these (no bare server URL)
    assert set(URL.findall(quick.stdout)) <= set(printed.values()), quick.stdout
    assert len(printed) == 8, printed
    problems: list[str] = []
    names = _names()
    with chromium() as browser:
        for what, url in printed.items():
            if "/pages/login?once=" not in url:
                problems.append(f"{what}: {url} does not log the reader in")
            problem = _opens(browser, url, names, run_path, None)
            if problem:
                problems.append(f"{what}: {problem}")
    assert not problems, "\n".join(problems)
    for out in [quick.stdout, outputs, *cli_out]:  # never the token itself
        state = (nbtrack_home / "server" / "state.json").read_text()
        token = re.search(r'"token": "([^"]+)"', state)
        assert token and token.group(1) not in out

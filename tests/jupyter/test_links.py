"""The run display links to the run page through Jupyter when the extension is active."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nbtrack.notebook.tables import status_lines
from nbtrack.sdk.display import page_url, run_html


def _run(**kw: object) -> SimpleNamespace:
    base = dict(id="ab12", name="n", project="my proj", entity="alice", state="running",
                url="http://127.0.0.1:5000/alice/my proj/runs/ab12", mode="local",
                exit_code=None, sync_command=None, dir="/tmp/x")
    base.update(kw)
    return SimpleNamespace(**base)


def test_link_through_jupyter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTRACK_JUPYTER_PAGES", "/user/alice/nbtrack/")
    run = _run()
    assert page_url(run) == "/user/alice/nbtrack/runs/alice/my%20proj/ab12"
    assert 'href="/user/alice/nbtrack/runs/alice/my%20proj/ab12"' in run_html(run)
    assert "  page:      /user/alice/nbtrack/runs/alice/my%20proj/ab12" in status_lines(run, None)


def test_link_without_the_extension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBTRACK_JUPYTER_PAGES", raising=False)
    run = _run()
    assert page_url(run) == run.url
    assert not any(line.startswith("  page:") for line in status_lines(run, None))
    # a run without a server has no page at all
    monkeypatch.setenv("NBTRACK_JUPYTER_PAGES", "/nbtrack/")
    assert page_url(_run(url=None)) is None

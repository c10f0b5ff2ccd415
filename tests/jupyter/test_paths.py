"""The allow-list both the Jupyter extension and the tracking server's pages apply."""

from __future__ import annotations

import pytest

from nbtrack.pages import shell as pages


@pytest.mark.parametrize("raw, expected", [
    ("viewer", "viewer"),
    ("runs", "runs"),
    ("runs/alice/proj/ab12", "runs/alice/proj/ab12"),
    ("runs/alice/my%20proj/ab12/history", "runs/alice/my%20proj/ab12/history"),
    ("runs/a/b/c/events", "runs/a/b/c/events"),
    ("runs/a/b/c/output", "runs/a/b/c/output"),
    ("runs/a/b/c/files", "runs/a/b/c/files"),
    ("runs/a/b/c/artifacts", "runs/a/b/c/artifacts"),
    ("runs/a/b/c/files/media/images/x.png", "runs/a/b/c/files/media/images/x.png"),
])
def test_allowed(raw: str, expected: str) -> None:
    assert pages.api_path(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "/", "runs/", "runs/a/b", "runs/a/b/c/stop", "runs/a/b/c/alerts", "graphql",
    "runs/a/b/c/history/x", "runs/../b/c", "runs/a/%2e%2e/c", "runs/a/b/c/files/..",
    "runs/a/b/c/files/.", "runs/a/b/c/files/a%2fb", "runs/a/b/c/files/a%5cb",
    "runs/a/b/c/files/%252e%252e", "runs/a/b/c/files/a%00b", "runs/a//c/d",
    "runs/a/b/c/files/x?y", "runs/a/b/c\\d", "healthz", "../healthz", "runs/a/b/c/files/",
])
def test_refused(raw: str) -> None:
    assert pages.api_path(raw) is None


def test_query_keeps_only_read_parameters() -> None:
    q = pages.api_query({"keys": ["a,b"], "samples": ["10", "20"], "token": ["x"],
                         "min_step": ["5"], "evil": ["1"]})
    assert q == "keys=a%2Cb&samples=10&min_step=5"


@pytest.mark.parametrize("name", ["../handlers.py", "vendor/../../x", ".hidden", "vendor/",
                                  "nope.js", "vendor/VERSION", "a\\b"])
def test_static_refused(name: str) -> None:
    assert pages.static_file(name) is None


def test_static_allowed() -> None:
    for name in ("pages.js", "pages.css", "uPlot.LICENSE"):
        found = pages.static_file(name)
        assert found is not None and found[0].is_file(), name


def test_views() -> None:
    assert pages.view_of("") == "runs"
    assert pages.view_of("compare") == "compare"
    assert pages.view_of("runs/a/b/c") == "run"
    assert pages.view_of("runs/a/../c") is None
    assert pages.view_of("runs/a/b") is None
    assert pages.view_of("elsewhere") is None

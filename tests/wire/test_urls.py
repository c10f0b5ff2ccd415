"""The server's HTTP paths (nbtrack.wire.urls) as clients build them and the server parses
them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from nbtrack.wire import urls


def test_file_stream_paths_round_trip_with_quoting() -> None:
    path = urls.file_stream_path("an entity", "p/q", "r%1")
    assert path == "/files/an%20entity/p%2Fq/r%251/file_stream"
    assert urls.parse_file_stream_path(path) == ("an entity", "p/q", "r%1")
    assert urls.parse_file_stream_path(path + "/") == ("an entity", "p/q", "r%1")
    assert urls.parse_file_stream_path("/files/a/b/file_stream") is None
    assert urls.parse_file_stream_path(urls.GRAPHQL) is None


def test_a_run_url_is_what_the_server_redirects() -> None:
    url = urls.run_url("http://h:1/", "e", "p", "abc")
    assert url == "http://h:1/e/p/runs/abc"
    m = urls.RUN_PAGE.match(urlsplit(url).path)
    assert m is not None and m.groups() == ("e", "p", "abc")


def test_pages_login_links() -> None:
    assert urls.pages_login("CODE") == "/pages/login?once=CODE"
    with_next = urlsplit(urls.pages_login("CODE", "runs/e/p/r"))
    assert with_next.path == urls.PAGES_LOGIN
    assert parse_qs(with_next.query) == {"once": ["CODE"], "next": ["/pages/runs/e/p/r"]}
    assert urls.pages_login("C", "") == "/pages/login?once=C&next=/pages/"
    assert urls.LOGIN_CODE.startswith(urls.API)

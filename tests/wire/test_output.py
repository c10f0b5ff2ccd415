"""The ``output.log`` line format (nbtrack.wire.output), written and read back."""

from __future__ import annotations

from nbtrack.wire import output

T = 1_700_000_000.25  # 2023-11-14T22:13:20.250000 UTC


def test_a_line_round_trips() -> None:
    out = output.format_line("hello world\n", False, T)
    assert out == "2023-11-14T22:13:20.250000 hello world"
    assert output.parse_line(out) == {"time": "2023-11-14T22:13:20.250000", "stream": "stdout",
                                      "text": "hello world"}
    err = output.format_line("boom", True, T)
    assert err.startswith("ERROR 2023-11-14T")
    assert output.parse_line(err) == {"time": "2023-11-14T22:13:20.250000", "stream": "stderr",
                                      "text": "boom"}


def test_lines_without_a_time_keep_their_text() -> None:
    assert output.parse_line("no time here") == {"time": None, "stream": "stdout",
                                                 "text": "no time here"}
    assert output.parse_line("ERROR plain") == {"time": None, "stream": "stderr", "text": "plain"}

"""Bounds that match what the wire and the server carry (issue 15: nothing ``log()`` accepted
is ever lost).

Each case goes through a real run and the real server: a value, row, summary or step the
pipeline could not deliver is refused in ``log()`` naming the key ("nothing of this log
call was logged"), and everything accepted before and after is stored exactly once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.sdk.values import MAX_ROW_BYTES, MAX_STEP, MAX_STRING_CHARS, MAX_SUMMARY_BYTES

MiB = 1 << 20
NOTHING = "nothing of this log call was logged"


def _run(live_server: Any, project: str = "bounds") -> Any:
    return nbtrack.init(project=project, mode="online", base_url=live_server.url,
                        api_key=live_server.token)


def _stored(live_server: Any, run: Any) -> tuple[Any, list[dict[str, Any]]]:
    api_run = nbtrack.Api(live_server.url, live_server.token).run(run.path)
    return api_run, api_run.history()


def _exactly_once(rows: list[dict[str, Any]], steps: range) -> None:
    got = [r["_step"] for r in rows]
    assert len(got) == len(set(got)), "a row was stored twice"
    assert got == list(steps), f"{len(steps) - len(got)} rows lost"


def test_a_33_mib_string_is_refused_and_the_run_goes_on(nbtrack_dir: Path,
                                                         live_server: Any) -> None:
    """Was: accepted; the summary carried it, every later post was over the server's body
    limit (413), its rows were dropped, the client said finished."""
    run = _run(live_server)
    run.log({"loss": 0.5})
    with pytest.raises(ValueError) as info:
        run.log({"loss": 0.4, "text": "x" * (33 * MiB)})
    assert "'text'" in str(info.value) and NOTHING in str(info.value)
    with pytest.raises(ValueError, match="'text'"):
        run.summary["text"] = "x" * (33 * MiB)
    with pytest.raises(ValueError, match="'text'"):
        run.config["text"] = "x" * (33 * MiB)
    big = "y" * MAX_STRING_CHARS  # the largest string accepted is stored whole
    run.log({"loss": 0.3, "text": big})
    for i in range(200):
        run.log({"loss": i / 200})
    run.finish(timeout=60, quiet=True)
    assert run.state == "finished"
    api_run, rows = _stored(live_server, run)
    _exactly_once(rows, range(202))
    assert rows[1]["text"] == big and "text" not in rows[0]
    assert api_run.summary["text"] == big
    assert api_run.state == "finished"


def test_a_row_over_the_row_limit_is_refused_naming_a_key(nbtrack_dir: Path,
                                                          live_server: Any) -> None:
    run = _run(live_server)
    chunk = "z" * (MAX_ROW_BYTES // 4)
    with pytest.raises(ValueError) as info:
        run.log({f"t{i}": chunk for i in range(5)})
    assert "row" in str(info.value) and "'t" in str(info.value) and NOTHING in str(info.value)
    # ensure_ascii: a short string of non-ASCII characters is longer on the wire
    with pytest.raises(ValueError, match="'emoji'"):
        run.log({"emoji": "\U0001f680" * (MAX_ROW_BYTES // 10)})
    run.log({"ok": 1})
    run.finish(timeout=60, quiet=True)
    _, rows = _stored(live_server, run)
    _exactly_once(rows, range(1))


def test_the_summary_is_bounded_in_log(nbtrack_dir: Path, live_server: Any) -> None:
    """Many keys, each a big string logged once: the summary keeps the last value of each,
    so it would outgrow a post. The call that would pass the bound is refused."""
    run = _run(live_server)
    text = "s" * (MAX_STRING_CHARS - 100)
    accepted = 0
    with pytest.raises(ValueError) as info:
        for i in range(MAX_SUMMARY_BYTES // MAX_STRING_CHARS + 2):
            run.log({f"sample{i}": text})
            accepted += 1
    assert "summary" in str(info.value) and f"'sample{accepted}'" in str(info.value)
    assert NOTHING in str(info.value)
    assert accepted >= MAX_SUMMARY_BYTES // MAX_STRING_CHARS - 1
    with pytest.raises(ValueError, match="summary"):
        run.summary["more"] = text
    run.log({f"sample{accepted - 1}": 1.0})  # replacing a big value makes room again
    run.log({"another": text})
    run.finish(timeout=60, quiet=True)
    assert run.state == "finished"
    api_run, rows = _stored(live_server, run)
    _exactly_once(rows, range(accepted + 2))
    assert api_run.summary["another"] == text


def test_a_step_beyond_the_wire_is_refused_and_no_row_is_lost(nbtrack_dir: Path,
                                                              live_server: Any) -> None:
    """Was: step=2**63 accepted; every later record failed to build (int64) and the rows
    before it in the same batch died too (3,486 of 6,001 lost)."""
    run = _run(live_server)
    for i in range(3000):
        run.log({"a": i}, step=i)
    for bad in (2**63, 2**64, MAX_STEP + 1):
        with pytest.raises(ValueError, match="step"):
            run.log({"a": -1}, step=bad)
    run.log({"b": 1}, step=MAX_STEP - 2999)  # the largest steps are carried exactly
    for i in range(3000):
        run.log({"a": i})
    run.finish(timeout=60, quiet=True)
    assert run.state == "finished"
    api_run, rows = _stored(live_server, run)
    steps = [r["_step"] for r in rows]
    assert steps == [*range(3000), *range(MAX_STEP - 2999, MAX_STEP + 1)]
    assert api_run.last_step == MAX_STEP


@pytest.mark.parametrize("data, fragment", [
    ({"a/b": 1, "a": {"b": 2}}, "'a/b'"),
    ({"a": {"b": 2}, "a/b": 1}, "'a/b'"),
    ({"huge": 10**5000}, "'huge'"),
    ({"wide": 2**63}, "'wide'"),
    ({"low": -(2**63) - 1}, "'low'"),
    ({"nested": [1, [2, 10**30]]}, "'nested'"),
])
def test_values_the_wire_cannot_carry_are_refused_by_key(nbtrack_dir: Path, live_server: Any,
                                                         data: dict[str, Any],
                                                         fragment: str) -> None:
    """Was: a nested-vs-flat collision let one value win silently; a 5,000-digit int was
    dropped in the handler (no error, the row gone)."""
    run = _run(live_server)
    run.log({"n": 0})
    with pytest.raises(ValueError) as info:
        run.log({"n": 1, **data})
    assert fragment in str(info.value) and NOTHING in str(info.value)
    run.log({"n": 2, "edge": [2**63 - 1, -(2**63)]})
    run.finish(timeout=60, quiet=True)
    _, rows = _stored(live_server, run)
    _exactly_once(rows, range(2))
    assert rows[1]["edge"] == [2**63 - 1, -(2**63)]


def test_cyclic_values_are_refused_by_key_not_recursion_error(nbtrack_dir: Path,
                                                              live_server: Any) -> None:
    run = _run(live_server)
    loop: list[Any] = [1.0]
    loop.append(loop)
    ring: dict[str, Any] = {"x": 1}
    ring["self"] = ring
    with pytest.raises(ValueError, match="'l'") as info:
        run.log({"l": loop})
    assert NOTHING in str(info.value)
    with pytest.raises(ValueError, match="'r/self': the dict contains itself"):
        run.log({"r": ring})
    with pytest.raises(ValueError, match=r"'c\.self': the dict contains itself"):
        run.config["c"] = ring
    with pytest.raises(ValueError, match="'l'"):
        run.config["l"] = loop
    with pytest.raises(ValueError, match="'s'"):
        run.summary["s"] = loop
    run.log({"ok": 1})
    run.finish(timeout=60, quiet=True)
    _, rows = _stored(live_server, run)
    _exactly_once(rows, range(1))

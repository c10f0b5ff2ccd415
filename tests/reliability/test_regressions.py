"""One focused regression test per defect the reliability suites found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nbtrack
from nbtrack.values import config_value, normalize


def test_longdouble_is_logged_not_infinite_recursion() -> None:
    """np.longdouble(...).item() returns a np.longdouble: normalize recursed forever
    (RecursionError out of log() and config). Found by test_bad_input."""
    assert normalize({"a": np.longdouble(1.5)}) == {"a": 1.5}
    assert normalize({"a": np.array([np.longdouble(2)])}) == {"a": [2.0]}
    assert config_value("lr", np.longdouble(0.25)) == 0.25
    with pytest.raises(TypeError, match="'z'"):
        normalize({"z": np.clongdouble(1 + 2j)})


def test_longdouble_round_trip_through_the_server(nbtrack_dir: Path, live_server: Any) -> None:
    run = nbtrack.init(project="regress", mode="online", base_url=live_server.url,
                       api_key=live_server.token, config={"eps": np.longdouble(0.5)})
    run.log({"x": np.longdouble(1.25)})
    run.finish(quiet=True)
    stored = nbtrack.Api(live_server.url, live_server.token).run(run.path)
    assert stored.history()[0]["x"] == 1.25
    assert stored.config["eps"] == 0.5

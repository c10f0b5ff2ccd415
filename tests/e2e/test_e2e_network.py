"""Acceptance: server down for a while, 503/429 bursts, and a server that never returns."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

import nbtrack

from helpers.proxy import Fault, FaultProxy
from helpers.wait import wait_until


def _online(server: Any, url: str | None = None, **kw: Any) -> nbtrack.Run:
    return nbtrack.init(project="faults", mode="online", base_url=url or server.url,
                        api_key=server.token, **kw)


def _steps(server: Any, run: nbtrack.Run) -> list[int]:
    api = nbtrack.Api(server.url, server.token)
    return [r["_step"] for r in api.run(run.path).history()]


def test_server_stopped_then_restarted(nbtrack_dir: Path, server_factory: Any) -> None:
    server = server_factory(nbtrack_dir / "srv")
    run = _online(server)
    for i in range(3_000):
        run.log({"i": i})
    run.flush()
    server.stop()
    for i in range(3_000, 6_000):
        run.log({"i": i})
    # the sender tries, fails and says so (not merely "3 s passed")
    wait_until(lambda: (run.network_status() or {}).get("state") == "retrying", timeout=30,
               message=lambda: f"network status while the server is down: "
                               f"{run.network_status()}")
    server.restart()
    for i in range(6_000, 9_000):
        run.log({"i": i})
    run.finish(timeout=60, quiet=True)
    assert run.state == "finished"
    assert _steps(server, run) == list(range(9_000))


@pytest.mark.parametrize("status, retry_after", [(503, None), (429, "1"), (429, None)])
def test_bursts_of_errors_are_retried(nbtrack_dir: Path, live_server: Any, status: int,
                                      retry_after: str | None) -> None:
    proxy = FaultProxy(live_server.url, match=lambda p: "file_stream" in p)
    try:
        run = _online(live_server, proxy.url)
        proxy.inject(*[Fault(status=status, retry_after=retry_after) for _ in range(4)])
        proxy.inject(Fault(drop_after_forward=True))
        for i in range(5_000):
            run.log({"i": i, "sq": i * i})
        run.finish(timeout=60, quiet=True)
        assert run.state == "finished"
        assert proxy.injected() >= 4
        assert _steps(live_server, run) == list(range(5_000))
        api_run = nbtrack.Api(live_server.url, live_server.token).run(run.path)
        assert api_run.state == "finished"
        assert api_run.summary["sq"] == 4_999 ** 2
    finally:
        proxy.close()


def test_server_that_never_returns_finish_is_bounded(
        nbtrack_dir: Path, live_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    proxy = FaultProxy(live_server.url)
    try:
        run = _online(live_server, proxy.url)
        proxy.fail_all(503)
        for i in range(1_000):
            run.log({"i": i})
        start = time.monotonic()
        run.finish(timeout=3.0)
        elapsed = time.monotonic() - start
        assert elapsed < 3.0 + 2.5, elapsed
        assert run.state == "detached"
        err = capsys.readouterr().err
        assert f"nbtrack sync {run.log_path}" in err
        assert not any(t.name.startswith("nbtrack-") and t.is_alive()
                       for t in threading.enumerate() if t.name != "nbtrack-ui")
    finally:
        proxy.close()
    # The log kept everything: sync delivers it once the server is reachable.
    from nbtrack.client.wandbclient import WandbClient
    from nbtrack.sdk.sync import sync_log

    result = sync_log(run.log_path, WandbClient(live_server.url, live_server.token))
    assert result.ok, result.error
    assert _steps(live_server, run) == list(range(1_000))

"""SIGKILL the logging process (and the server) at chosen points, then ``nbtrack sync``.

After sync every row of the transaction log, as sync completed it from the write-ahead
ring, is on the server exactly once, steps are 0..n-1 without gaps or duplicates, and the
state says what happened: ``finished`` when the log holds the exit record (finish had
begun), ``crashed`` otherwise. (``test_kill_anywhere.py`` counts accepted calls from
outside nbtrack.)
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from crashkit import cli, log_truth, logs_under, start_child

import nbtrack
from nbtrack.proto import nbtrack_pb2 as pb

from helpers.faults import ChaosProxy
from helpers.reliability import pick, record_figure
from helpers.txlogs import wait_rows_logged
from helpers.wait import wait_until

ROWS_BEFORE_RESTART = 1_000  # in the kernel's log when it is restarted mid-loop
ALL_STATES = [pb.DeferRequest.DeferState.Name(s) for s in pb.DeferRequest.DeferState.values()]
# short: the states where a different stage answers; long: every state
DEFER_STATES = pick(["BEGIN", "FLUSH_PARTIAL_HISTORY", "FLUSH_SUM", "JOIN_FP", "FLUSH_FS",
                     "FLUSH_FINAL", "END"], ALL_STATES)


def _sync_and_check(home: Path, server: Any, log: Path, point: str) -> dict[str, Any]:
    t0 = time.monotonic()
    sync = cli(home, "sync", str(log), url=server.url, token=server.token)
    recover = time.monotonic() - t0
    truth = log_truth(log)  # as sync completed it from the ring
    assert sync.returncode == 0, sync.stderr
    assert "Traceback" not in sync.stderr
    api = nbtrack.Api(server.url, server.token)
    runs = api.runs(project="crash")
    if not truth["kinds"].get("run"):
        # killed before the run record reached the disk: nothing to sync, nothing invented
        assert truth["rows"] == []
        record_figure("crash", point=point, log_rows=0, stored=0, state="(no run in log)",
                      recover_s=round(recover, 2))
        return {"truth": truth, "stored": [], "state": None}
    assert len(runs) == 1, runs
    run = runs[0]
    stored = run.history()
    steps = [r["_step"] for r in stored]
    assert steps == list(range(len(steps))), "gaps or duplicates on the server"
    assert len(stored) >= len(truth["rows"]), "rows of the log are missing on the server"
    assert [r["i"] for r in stored[: len(truth["rows"])]] == [r["i"] for r in truth["rows"]]
    expected_state = "finished" if truth["exit_code"] == 0 else "crashed"
    assert run.state == expected_state, (run.state, truth["kinds"])
    assert run.config.get("lr") == 0.5
    # a second sync adds nothing
    again = cli(home, "sync", str(log), url=server.url, token=server.token)
    assert again.returncode == 0, again.stderr
    assert len(api.run(run.path).history()) == len(stored)
    record_figure("crash", point=point, log_rows=len(truth["rows"]), stored=len(stored),
                  duplicates=len(steps) - len(set(steps)), state=run.state,
                  torn_tail=truth["torn_tail"], recover_s=round(recover, 2))
    return {"truth": truth, "stored": stored, "state": run.state}


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def _only_log(home: Path) -> Path:
    logs = logs_under(home)
    assert len(logs) == 1, logs
    return logs[0]


class _Child:
    """The child process, handed from the test to the proxy's thread (``set`` once)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.started = threading.Event()
        self.fired = threading.Event()

    def set(self, proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
        self.proc = proc
        self.started.set()
        return proc

    def kill(self) -> None:
        assert self.started.wait(30), "the test never handed over the child"
        assert self.proc is not None
        _kill(self.proc)


def _proxy_killer(server: Any, when: Any) -> tuple[ChaosProxy, _Child]:
    """A proxy that holds the request ``when(method, path, body)`` picks and kills the child."""
    child = _Child()

    def on_request(method: str, path: str, body: bytes) -> str | None:
        if not child.fired.is_set() and when(method, path, body):
            child.fired.set()
            child.kill()
            return "hold"
        return None

    return ChaosProxy(server.url, on_request=on_request), child


def test_kill_during_init(nbtrack_dir: Path, live_server: Any) -> None:
    proxy, child = _proxy_killer(live_server, lambda m, p, b: b"upsertBucket" in b)
    try:
        proc = child.set(start_child(nbtrack_dir, proxy.url, live_server.token))
        assert child.fired.wait(30), "init never reached the server"
        proc.wait(10)
    finally:
        proxy.close()
    _sync_and_check(nbtrack_dir, live_server, _only_log(nbtrack_dir), "init (upsertBucket)")


@pytest.mark.parametrize("posts", [1, 4])
def test_kill_mid_logging_when_server_sees_post(nbtrack_dir: Path, live_server: Any,
                                                posts: int) -> None:
    seen = {"n": 0}

    def when(method: str, path: str, body: bytes) -> bool:
        if "file_stream" in path and b"wandb-history.jsonl" in body:
            seen["n"] += 1
        return seen["n"] >= posts

    proxy, child = _proxy_killer(live_server, when)
    try:
        child.set(start_child(nbtrack_dir, proxy.url, live_server.token))
        assert child.fired.wait(60)
    finally:
        proxy.close()
    out = _sync_and_check(nbtrack_dir, live_server, _only_log(nbtrack_dir),
                          f"mid-logging (history post {posts})")
    assert out["state"] == "crashed"
    assert len(out["truth"]["rows"]) > 0


@pytest.mark.parametrize("state", DEFER_STATES)
def test_kill_at_each_finish_state(nbtrack_dir: Path, live_server: Any, state: str) -> None:
    proc = start_child(nbtrack_dir, live_server.url, live_server.token, STEPS="3000",
                       KILL_AT_DEFER=state)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    out = _sync_and_check(nbtrack_dir, live_server, _only_log(nbtrack_dir), f"finish: {state}")
    # the exit record is published (into the ring) before the first defer state
    assert out["truth"]["exit_code"] == 0, out["truth"]["kinds"]
    assert out["state"] == "finished"
    assert len(out["stored"]) == 3000


@pytest.mark.parametrize("forwarded", [False, True])
def test_kill_when_server_sees_the_complete_post(nbtrack_dir: Path, live_server: Any,
                                                 forwarded: bool) -> None:
    """Observed from outside: the final file_stream post (``complete``) arrives; it is held
    (the child is killed first) or answered (the child is killed once the server has it)."""
    child = _Child()

    def on_request(method: str, path: str, body: bytes) -> str | None:
        if "file_stream" in path and b'"complete": true' in body.replace(b'":true', b'": true'):
            child.fired.set()
            if not forwarded:
                child.kill()
                return "hold"
        return None

    proxy = ChaosProxy(live_server.url, on_request=on_request)
    try:
        proc = child.set(start_child(nbtrack_dir, proxy.url, live_server.token, STEPS="3000"))
        assert child.fired.wait(60)
        if forwarded:
            assert proc.stdout is not None
            path = json.loads(proc.stdout.readline())["path"]
            api = nbtrack.Api(live_server.url, live_server.token)
            wait_until(lambda: api.run(path).state == "finished", timeout=30,
                       message="the server never committed the complete post")
            _kill(proc)
        else:
            proc.wait(10)
    finally:
        proxy.close()
    out = _sync_and_check(nbtrack_dir, live_server, _only_log(nbtrack_dir),
                          f"finish: complete post {'answered' if forwarded else 'held'}")
    assert out["state"] == "finished"
    assert len(out["stored"]) == 3000


@pytest.mark.parametrize("point", ["mid-logging", "finish"])
def test_server_killed_and_restarted(nbtrack_dir: Path, server_factory: Any,
                                     point: str) -> None:
    """The server dies (SIGKILL) and comes back; the client keeps everything."""
    server = server_factory()
    run = nbtrack.init(project="crash", mode="online", base_url=server.url,
                       api_key=server.token, config={"lr": 0.5})
    for i in range(2_000):
        run.log({"i": i})
    run.flush()
    t0 = time.monotonic()
    if point == "mid-logging":
        server.kill()
        for i in range(2_000, 4_000):
            run.log({"i": i})
        # down until the client has felt it: its sender is retrying
        wait_until(lambda: (run.network_status() or {}).get("state") == "retrying", 30,
                   message=lambda: f"network status after the kill: {run.network_status()}")
        server.restart()
        for i in range(4_000, 5_000):
            run.log({"i": i})
        run.finish(timeout=90, quiet=True)
    else:
        for i in range(2_000, 5_000):
            run.log({"i": i})
        server.kill()
        felt = threading.Event()

        def restart_once_felt() -> None:
            # down until finish has felt it (the widget's thread asks the same during finish)
            with contextlib.suppress(AssertionError):
                wait_until(lambda: (run.network_status(timeout=0.5) or {}).get("state")
                           == "retrying", timeout=60)
                felt.set()
            server.restart()

        restarter = threading.Thread(target=restart_once_felt, name="test-restarter")
        restarter.start()
        run.finish(timeout=90, quiet=True)
        restarter.join(70)
        assert felt.is_set(), "finish never reported 'retrying' while the server was down"
    recover = time.monotonic() - t0
    assert run.state == "finished"
    stored = nbtrack.Api(server.url, server.token).run(run.path)
    steps = [r["_step"] for r in stored.history()]
    assert steps == list(range(5_000))
    assert stored.state == "finished"
    record_figure("server_kill", point=point, expected=5000, stored=len(steps),
                  duplicates=len(steps) - len(set(steps)), recover_s=round(recover, 2))


def test_server_killed_during_sync(nbtrack_dir: Path, server_factory: Any) -> None:
    """An offline run synced while the server is SIGKILLed and restarted mid-sync."""
    server = server_factory()
    run = nbtrack.init(project="crash", mode="offline", config={"lr": 0.5})
    for i in range(30_000):
        run.log({"i": i})
    run.finish(quiet=True)
    # Through a proxy that shows the test the sync's requests: the server is SIGKILLed when
    # the first history post arrives (mid-sync; that post goes nowhere), and restarted once
    # the sync has come back with a request while the server was down.
    killed, retried = threading.Event(), threading.Event()

    def on_request(method: str, path: str, body: bytes) -> None:
        if killed.is_set():
            retried.set()
        elif "file_stream" in path and b"wandb-history.jsonl" in body:
            server.kill()
            killed.set()

    proxy = ChaosProxy(server.url, on_request=on_request)
    try:
        proc = subprocess.Popen(
            [*_cli_cmd(), "sync", str(run.log_path), "--base-url", proxy.url,
             "--api-key", server.token], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        if not retried.wait(90):
            proc.kill()
            _out, err = proc.communicate(timeout=10)
            raise AssertionError(f"killed: {killed.is_set()}, no request after that:\n{err}")
        server.restart()
        _out, err = proc.communicate(timeout=180)
    finally:
        proxy.close()
    assert proc.returncode == 0, err
    stored = nbtrack.Api(server.url, server.token).run(run.path)
    steps = [r["_step"] for r in stored.history()]
    assert steps == list(range(30_000))
    assert stored.state == "finished"


def _cli_cmd() -> list[str]:
    import sys

    return [sys.executable, "-m", "nbtrack"]


def test_kernel_restart_mid_loop(nbtrack_dir: Path, live_server: Any) -> None:
    """A real Jupyter kernel restarted (killed) mid-loop; its log syncs exactly once."""
    import os

    import jupyter_client

    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env=dict(os.environ, NBTRACK_DIR=str(nbtrack_dir),
                             NBTRACK_BASE_URL=live_server.url,
                             NBTRACK_API_KEY=live_server.token))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive(
            "import nbtrack\n"
            "run = nbtrack.init(project='crash', mode='online', config={'lr': 0.5})\n",
            timeout=60)
        kc.execute("i = 0\nwhile True:\n    run.log({'i': i}); i += 1\n")
        wait_rows_logged(_only_log(nbtrack_dir), ROWS_BEFORE_RESTART, timeout=60)
        km.restart_kernel(now=True)  # kills the process, like the Restart button
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive("import nbtrack; print(nbtrack.run)", timeout=30)
        assert reply["content"]["status"] == "ok"
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    out = _sync_and_check(nbtrack_dir, live_server, _only_log(nbtrack_dir), "kernel restart")
    assert out["state"] == "crashed"
    assert len(out["truth"]["rows"]) >= ROWS_BEFORE_RESTART  # on disk before the kill: kept
    assert json.dumps(out["stored"][0])  # rows are plain JSON

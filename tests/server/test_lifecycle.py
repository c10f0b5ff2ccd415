"""Server process lifecycle and storage under concurrency."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import requests

from helpers.server import RunningServer, api, gql, start_server, stream, upsert


def _entity(server: RunningServer) -> str:
    return str(gql(server, "{ viewer { entity } }")["data"]["viewer"]["entity"])


def test_restart_on_the_same_port_keeps_the_data(server_factory: Any) -> None:
    srv = server_factory()
    upsert(srv, "r")
    path = f"{_entity(srv)}/proj/r"
    stream(srv, path, {"wandb-history.jsonl": (0, ['{"_step": 0, "a": 1}'])})
    url = srv.url
    srv.stop()
    try:
        requests.get(f"{url}/healthz", timeout=2)
        raise AssertionError("the stopped server still answers")
    except requests.ConnectionError:
        pass
    srv.restart()
    assert srv.url == url
    stream(
        srv, path, {"wandb-history.jsonl": (0, ['{"_step": 0, "a": 1}', '{"_step": 1, "a": 2}'])}
    )
    rows = api(srv, f"runs/{path}/history").json()["rows"]
    assert [r["_step"] for r in rows] == [0, 1]


def test_sigint_shuts_down_cleanly_and_kill_leaves_the_state_file(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "a")
    srv.proc.send_signal(signal.SIGINT)
    assert srv.proc.wait(10) == 0
    assert not (srv.dir / "server" / "state.json").exists()
    srv2 = start_server(tmp_path / "b")
    srv2.kill()
    assert json.loads((srv2.dir / "server" / "state.json").read_text())["pid"] == srv2.pid


def test_sqlite_url_and_explicit_state_file(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "x.db"
    state = tmp_path / "st.json"
    srv = start_server(tmp_path / "d", db=f"sqlite:///{db}", state_file=state)
    try:
        upsert(srv, "r")
        assert db.exists() and json.loads(state.read_text())["pid"] == srv.pid
        assert not (tmp_path / "d" / "server" / "nbtrack.db").exists()
    finally:
        srv.stop()
    assert not state.exists()


def test_bad_database_url_fails_to_start(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nbtrack.server", "--dir", str(tmp_path), "--db", "mysql://x/y"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1 and "unsupported database URL" in out.stderr


def test_concurrent_posts_to_many_runs(live_server: RunningServer) -> None:
    ent = _entity(live_server)
    names = [f"c{i}" for i in range(8)]
    for n in names:
        upsert(live_server, n)
    errors: list[BaseException] = []

    def post(name: str) -> None:
        try:
            with requests.Session() as s:
                s.auth = ("api", live_server.token)
                for chunk in range(20):
                    lines = [json.dumps({"_step": chunk * 50 + i, "v": i}) for i in range(50)]
                    body = {
                        "files": {"wandb-history.jsonl": {"offset": chunk * 50, "content": lines}}
                    }
                    r = s.post(
                        f"{live_server.url}/files/{ent}/proj/{name}/file_stream",
                        json=body,
                        timeout=30,
                    )
                    assert r.status_code == 200
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=post, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for n in names:
        run = api(live_server, f"runs/{ent}/proj/{n}").json()
        assert (run["history_line_count"], run["last_step"]) == (1000, 999)


def test_a_second_server_does_not_take_over_a_live_servers_state_file(tmp_path: Path) -> None:
    first = start_server(tmp_path / "d")
    second = start_server(tmp_path / "d", db=f"sqlite:///{tmp_path}/other.db")
    try:
        state = json.loads((tmp_path / "d" / "server" / "state.json").read_text())
        assert state["pid"] == first.pid
    finally:
        second.stop()
        assert (tmp_path / "d" / "server" / "state.json").exists()  # not its own: kept
        first.stop()
    assert not (tmp_path / "d" / "server" / "state.json").exists()

"""Security: loopback only, every endpoint but healthz needs the token, secrets stored
0600, and no token or API key in logs, printed output, widget state or exceptions."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

import nbtrack
from nbtrack.client.localserver import ensure_local_server

from helpers.faults import ChaosProxy


def test_local_server_listens_on_loopback_only(home: Path) -> None:
    info = ensure_local_server(home)
    state = json.loads((home / "server" / "state.json").read_text())
    assert state["host"] == "127.0.0.1"
    listening = [c for c in psutil.Process(info.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening, "the server listens somewhere"
    assert all(c.laddr.ip == "127.0.0.1" for c in listening), listening


def test_files_holding_secrets_are_owner_only(home: Path) -> None:
    info = ensure_local_server(home)
    run = nbtrack.init(project="sec", mode="local")
    run.log({"a": 1})
    run.finish(quiet=True)
    holders = []
    for p in home.rglob("*"):
        if p.is_file() and info.token.encode() in p.read_bytes():
            holders.append(p)
            mode = stat.S_IMODE(p.stat().st_mode)
            assert mode & 0o077 == 0, f"{p} holds the token with mode {oct(mode)}"
    assert home / "server" / "state.json" in holders


def test_no_secret_in_logs_output_widget_or_exceptions(
        nbtrack_dir: Path, live_server: Any, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    token = live_server.token
    texts: list[str] = []
    # retries with 401/403/5xx and resets on the way: messages about them must not leak
    proxy = ChaosProxy(live_server.url, ["s500", "s503", "reset_request", "s429ra", "pass",
                                         "drop_response"])
    try:
        run = nbtrack.init(project="sec", mode="online", base_url=proxy.url, api_key=token,
                           config={"lr": 1})
        for i in range(2000):
            run.log({"i": i})
        texts += [repr(run), json.dumps(run.network_status() or {}), str(run.config)]
        bundle = run._repr_mimebundle_()
        texts.append(json.dumps(bundle, default=str))
        from nbtrack.notebook.widget import RunWidget

        widget = RunWidget(run, start=False)
        texts.append(json.dumps(widget.get_state(), default=str))
        widget.close()
        run.finish(quiet=False)
    finally:
        proxy.close()
    # a wrong key: the exception and whatever it logs must not show either key
    wrong = "f" * 40
    with pytest.raises(Exception) as err:
        bad = nbtrack.init(project="sec", mode="online", base_url=live_server.url,
                           api_key=wrong)
        bad.log({"a": 1})
        bad.finish(timeout=5, quiet=False)
        raise RuntimeError(f"finished as {bad.state}")
    texts += [str(err.value), repr(err.value), str(err.getrepr())]
    r = requests.get(f"{live_server.url}/api/v1/runs", auth=("api", wrong), timeout=5)
    texts.append(r.text + json.dumps(dict(r.headers)))
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text]
    texts += [p.read_text(errors="replace") for p in live_server.dir.rglob("*.log")]
    texts += [p.read_text(errors="replace") for p in nbtrack_dir.rglob("*.log")]
    for text in texts:
        assert token not in text
        assert wrong not in text

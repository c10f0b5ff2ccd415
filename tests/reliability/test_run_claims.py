"""One run id, two writers: a crashed kernel's unsynced log, and two live kernels.

- Resume before sync: a kernel is SIGKILLed with rows the server never got; a new kernel
  resumes the run (``resume="allow"``): init syncs the old log first (and says so), so the
  resumed rows come after every old row and a later ``nbtrack sync`` adds nothing.
- Two kernels start the same run id at once: exactly one runs; the other's init raises,
  naming the run and the process that holds it; the server has the winner's rows, once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from crashkit import cli, log_truth, start_child

import nbtrack

from helpers.faults import ChaosProxy
from helpers.reliability import record_figure
from helpers.txlogs import wait_rows_logged

NEW_ROWS = 500


def test_resume_syncs_the_crashed_runs_log_first(nbtrack_dir: Path, live_server: Any,
                                                 capsys: Any) -> None:
    # the child's history posts after the first are held by a proxy, so the server surely
    # lacks rows the kernel accepted when it is killed (not left to timing)
    seen = {"posts": 0}

    def hold_history(method: str, path: str, body: bytes) -> str | None:
        if "file_stream" in path and b"wandb-history.jsonl" in body:
            seen["posts"] += 1
            if seen["posts"] > 1:
                return "hold"
        return None

    proxy = ChaosProxy(live_server.url, on_request=hold_history)
    try:
        child = start_child(nbtrack_dir, proxy.url, live_server.token)
        info = json.loads(child.stdout.readline())
        log = Path(info["log"])
        run_id = info["path"].rsplit("/", 1)[-1]
        wait_rows_logged(log, 3_000)
        child.kill()
        child.wait(10)
        child.stdout.close()
        child.stderr.close()
    finally:
        proxy.close()
    api = nbtrack.Api(live_server.url, live_server.token)
    held_before = len(api.run(info["path"]).history())

    run = nbtrack.init(project="crash", id=run_id, resume="allow", base_url=live_server.url,
                       api_key=live_server.token, console="off")
    for j in range(NEW_ROWS):
        run.log({"j": j})
    run.finish(quiet=True)
    said = capsys.readouterr().err
    old = [r for r in log_truth(log)["rows"]]  # the old log as init's sync completed it
    # the user's later sync of the old log adds nothing
    again = cli(nbtrack_dir, "sync", str(log), url=live_server.url, token=live_server.token)
    assert again.returncode == 0, again.stderr

    stored = api.run(info["path"]).history()
    steps = [r["_step"] for r in stored]
    record_figure("resume_before_sync", old_rows_in_log=len(old), held_before=held_before,
                  new_rows=NEW_ROWS, stored=len(stored),
                  lost=len(old) + NEW_ROWS - len(set(steps)),
                  duplicates=len(steps) - len(set(steps)))
    assert held_before < len(old), "the test needs rows the server never got"
    assert len(old) >= 3_000
    assert steps == list(range(len(old) + NEW_ROWS))
    assert [r.get("i") for r in stored[: len(old)]] == [r["i"] for r in old]
    assert [r.get("j") for r in stored[len(old):]] == list(range(NEW_ROWS))
    assert "syncing" in said and str(log) in said, said


TWIN = textwrap.dedent("""
    import json, os, sys, time
    import nbtrack
    from nbtrack.sdk.runstream import InitError

    go = sys.argv[2]
    while not os.path.exists(go):
        time.sleep(0.005)
    try:
        run = nbtrack.init(project="twins", id=sys.argv[1], resume="allow", console="off")
    except InitError as e:
        print(json.dumps({"refused": str(e)}), flush=True)
        sys.exit(0)
    for i in range(10_000):
        run.log({"i": i, "pid": os.getpid()})
        if i % 500 == 0:
            time.sleep(0.02)
    run.finish(quiet=True)
    print(json.dumps({"finished": run.state}), flush=True)
""")


def test_two_kernels_one_run_id(nbtrack_dir: Path, live_server: Any) -> None:
    go = nbtrack_dir / "go"
    env = dict(os.environ, NBTRACK_DIR=str(nbtrack_dir), NBTRACK_BASE_URL=live_server.url,
               NBTRACK_API_KEY=live_server.token)
    procs = [subprocess.Popen([sys.executable, "-c", TWIN, "twin0001", str(go)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    go.write_text("go")
    outs = {p.pid: p.communicate(timeout=120) for p in procs}
    said = {pid: json.loads(out.strip().splitlines()[-1]) for pid, (out, _) in outs.items()}
    finished = [pid for pid, s in said.items() if "finished" in s]
    refused = [pid for pid, s in said.items() if "refused" in s]
    stored = nbtrack.Api(live_server.url, live_server.token).runs(project="twins")[0].history()
    steps = [r["_step"] for r in stored]
    record_figure("two_kernels_one_id", finished=len(finished), refused=len(refused),
                  stored=len(stored), duplicates=len(steps) - len(set(steps)))
    assert len(finished) == 1 and len(refused) == 1, (said, outs)
    message = said[refused[0]]["refused"]
    assert "twin0001" in message and f"pid {finished[0]}" in message, message
    assert steps == list(range(10_000))
    assert {r["pid"] for r in stored} == {finished[0]}


HOLDER = textwrap.dedent("""
    import json, sys, time
    import nbtrack

    run = nbtrack.init(project="twins", id=sys.argv[1], resume="allow", console="off")
    for i in range(5_000):
        run.log({"i": i})
    run.flush()
    print(json.dumps({"started": True}), flush=True)
    sys.stdin.readline()  # until the test has tried the second init
    run.finish(quiet=True)
    print(json.dumps({"finished": run.state}), flush=True)
""")


def test_a_run_live_elsewhere_is_refused_by_its_heartbeat(nbtrack_dir: Path, tmp_path: Path,
                                                          live_server: Any) -> None:
    """The first kernel uses another NBTRACK_DIR (another machine, as far as locks go): the
    server's fresh heartbeat of the running run refuses the second init."""
    other = tmp_path / "other-home"
    other.mkdir()
    env = dict(os.environ, NBTRACK_DIR=str(other), NBTRACK_BASE_URL=live_server.url,
               NBTRACK_API_KEY=live_server.token)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "twin0002"], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        assert json.loads(holder.stdout.readline()) == {"started": True}
        api = nbtrack.Api(live_server.url, live_server.token)
        from helpers.wait import wait_until

        wait_until(lambda: len(api.runs(project="twins")[0].history()) == 5_000, 30)
        refused = ""
        try:
            run = nbtrack.init(project="twins", id="twin0002", resume="allow",
                               base_url=live_server.url, api_key=live_server.token,
                               console="off")
        except nbtrack.InitError as e:
            refused = str(e)
        else:
            for i in range(5_000):
                run.log({"i": -i})
            run.finish(quiet=True)
        out, err = holder.communicate("go\n", timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert json.loads(out.strip().splitlines()[-1]) == {"finished": "finished"}, err
    stored = api.runs(project="twins")[0].history()
    record_figure("run_live_elsewhere", refused=bool(refused), stored=len(stored))
    assert "twin0002" in refused and "heartbeat" in refused, refused
    assert [r["i"] for r in stored] == list(range(5_000))

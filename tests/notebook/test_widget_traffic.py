"""What the live widget costs on the wire: comm-message bytes on iopub from a real kernel.

A real ipykernel (jupyter_client), ``%%track_init`` (offline), then a thread that logs every
metric every ~1 ms for 10 s while the cell waits for it. Every ``comm_msg`` on iopub is
counted as it would travel (header, parent header, metadata, content as JSON, plus its
binary buffers); messages that arrive in the first 2 s of the loop are left out, so the sum
is the steady state. Asserted: at most 30 KB/s with 50 metrics (a bound on bytes, not a
timing claim). The figures are printed (``pytest -s``) and recorded in docs/notebook.md.

``python tests/notebook/test_widget_traffic.py KERNEL_DIR`` measures another checkout's
``kernel/`` (how the "before" figures of the old code were taken).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOP_S = 10.0
SKIP_S = 2.0
LIMIT_50 = 30_000  # bytes per second, 50 metrics

pytestmark = pytest.mark.timeout(180)

SETUP = "%load_ext nbtrack\nimport threading, time, math\nimport nbtrack\n"
INIT = "%%track_init --project traffic --name traffic --mode offline\nlr: 0.01\n"
LOOP = """
def _loop(n_keys, seconds):
    keys = [f"m/{k:02d}" for k in range(n_keys)]
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        nbtrack.log({k: math.sin(i / 50 + j) + 0.001 * i for j, k in enumerate(keys)})
        i += 1
        time.sleep(0.001)
    return i

_steps = []
_t = threading.Thread(target=lambda: _steps.append(_loop(N_KEYS, SECONDS)), daemon=True)
_t.start()
_t.join()
print("STEPS", _steps[0])
"""


def _size(msg: dict[str, Any]) -> int:
    parts = [msg["header"], msg["parent_header"], msg["metadata"], msg["content"]]
    return sum(len(json.dumps(p, default=str).encode()) for p in parts) + sum(
        len(memoryview(b).cast("B")) for b in msg.get("buffers") or [])


def _execute(kc: Any, code: str, timeout: float = 60.0) -> tuple[list[tuple[float, int]], str]:
    """Run ``code``; returns (arrival time from the request, bytes) of each comm_msg and the
    text the cell printed."""
    msg_id = kc.execute(code)
    t0 = time.monotonic()
    comm: list[tuple[float, int]] = []
    out: list[str] = []
    deadline = t0 + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        kind = msg["msg_type"]
        if kind == "comm_msg":
            comm.append((time.monotonic() - t0, _size(msg)))
        elif kind == "stream":
            out.append(msg["content"]["text"])
        elif kind == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        elif (kind == "status" and msg["content"]["execution_state"] == "idle"
              and msg["parent_header"].get("msg_id") == msg_id):
            return comm, "".join(out)


def measure(n_keys: int, kernel_dir: Path, home: Path) -> dict[str, Any]:
    """Bytes per second of comm messages during seconds 2..10 of the logging loop."""
    from jupyter_client.manager import start_new_kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith("NBTRACK_")}
    env["NBTRACK_DIR"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(kernel_dir), env.get("PYTHONPATH", "")])
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(home))
    try:
        _execute(kc, SETUP)
        _execute(kc, INIT)
        loop = LOOP.replace("N_KEYS", str(n_keys)).replace("SECONDS", str(LOOP_S))
        comm, text = _execute(kc, loop, timeout=LOOP_S + 60)
        _execute(kc, "%track_finish --quiet")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    steady = [(t, b) for t, b in comm if SKIP_S <= t <= LOOP_S]
    total = sum(b for _, b in steady)
    return {"metrics": n_keys, "steps": int(text.split("STEPS", 1)[1].split()[0]),
            "messages": len(steady), "bytes": total,
            "bytes_per_s": round(total / (LOOP_S - SKIP_S)),
            "largest": max((b for _, b in steady), default=0)}


def test_widget_traffic_9_and_50_metrics(tmp_path: Path) -> None:
    results = []
    for n in (9, 50):
        home = tmp_path / f"home{n}"
        home.mkdir()
        results.append(measure(n, ROOT / "kernel", home))
    print("\n" + json.dumps(results))
    nine, fifty = results
    assert nine["messages"] >= 8 and fifty["messages"] >= 8, results  # it did stream
    assert fifty["bytes_per_s"] <= LIMIT_50, results
    assert nine["bytes_per_s"] <= LIMIT_50, results


if __name__ == "__main__":
    import tempfile

    kernel = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (9, 50):
            h = Path(tmp) / f"home{n}"
            h.mkdir()
            print(json.dumps(measure(n, kernel, h)), flush=True)

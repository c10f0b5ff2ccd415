"""Where nbtrack's time per record goes: py-spy on the kernel process and on the server.

    python benchmarks/profile_nbtrack.py [--steps 300000] [--rate 250] [--keys 10]

Runs the ``loop`` workload (N steps × K floats, loop + finish, ``mode="local"``) in a fresh
worker under ``py-spy record --threads`` and, at the same time, py-spy on the embedded server
(a fresh one in a temp ``NBTRACK_DIR``). py-spy drops most idle samples; samples whose leaf
blocks with the GIL released (``Condition.wait``, ``select``, socket reads) are counted as
"blocked", the rest as "busy" (running Python or waiting for the GIL). Prints per thread
(user thread split into ``log()`` and the rest; handler, writer, sender, file-stream worker;
server threads) the µs per record and the top functions by self time in µs per record. Raw
stacks and the
summary go to ``benchmarks/results/profile-<time>/``. py-spy is installed into
``benchmarks/results/venvs/tools`` on first use.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KERNEL = ROOT / "kernel"
RESULTS = HERE / "results"
TOOLS = RESULTS / "venvs" / "tools"

THREAD_RE = re.compile(r"^thread \((\d+)\)(?::\s*(.*))?$")
# Leaf functions that block with the GIL released: counted as waiting, not as CPU.
WAITS = ("Condition.wait ", "Event.wait ", "_PollLikeSelector.select ", "SocketIO.readinto ",
         "do_poll ", "Thread._wait_for_tstate_lock ", "Thread.join ", "select ", "sleep ",
         "BaseSelector.select ", "Queue.get ")


def py_spy() -> str:
    exe = TOOLS / "bin" / "py-spy"
    if not exe.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(TOOLS)])
        subprocess.check_call([str(TOOLS / "bin" / "pip"), "install", "-q", "py-spy"])
    return str(exe)


def parse(path: Path) -> tuple[dict[str, collections.Counter[str]], dict[str, int],
                               dict[str, collections.Counter[str]], dict[str, int]]:
    """Per thread: self-time counters, busy samples, inclusive counters, waiting samples."""
    names: dict[str, str] = {}
    lines: list[tuple[str, list[str], int]] = []
    for raw in path.read_text(errors="replace").splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        m = THREAD_RE.match(frames[0])
        tid = m.group(1) if m else "?"
        if m and m.group(2):
            names[tid] = m.group(2).strip()
        lines.append((tid, frames[1:], int(count)))
    self_t: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    incl: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total: dict[str, int] = collections.Counter()
    waiting: dict[str, int] = collections.Counter()
    for tid, frames, count in lines:
        thread = names.get(tid, f"thread-{tid}")
        if thread == "MainThread":
            in_log = any(f.startswith("Run.log ") for f in frames)
            thread = "user thread: in log()" if in_log else "user thread: rest"
        if frames and frames[-1].startswith(WAITS):
            waiting[thread] += count
            continue
        total[thread] += count
        if frames:
            self_t[thread][frames[-1]] += count
            for f in set(frames):
                incl[thread][f] += count
    return self_t, total, incl, waiting


def summarise(title: str, path: Path, rate: float, steps: int, top: int = 8) -> str:
    self_t, total, incl, waiting = parse(path)
    per = 1e6 / rate / steps  # µs per record for one sample
    out = [f"### {title}", "", f"{sum(total.values())} samples at {rate:g} Hz, {steps} records",
           "", "| thread | busy µs/record | blocked µs/record | top self time (µs/record) |",
           "|---|---|---|---|"]
    for thread, n in sorted(total.items(), key=lambda kv: -kv[1]):
        if n * per < 0.05:
            continue
        tops = "; ".join(f"`{f}` {c * per:.2f}" for f, c in self_t[thread].most_common(top))
        out.append(f"| {thread} | {n * per:.2f} | {waiting.get(thread, 0) * per:.2f} | {tops} |")
    out += ["", "Inclusive time of nbtrack functions (µs/record, top 25):", ""]
    agg: collections.Counter[str] = collections.Counter()
    for thread, c in incl.items():
        for f, k in c.items():
            if "nbtrack/" in f or "nbtrack\\" in f:
                agg[f"{thread} · {f}"] += k
    out += [f"- {f}: {k * per:.2f}" for f, k in agg.most_common(25)]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=300_000)
    ap.add_argument("--keys", type=int, default=10)
    ap.add_argument("--rate", type=int, default=250)
    ap.add_argument("--source", choices=("head", "worktree"), default="head",
                    help="nbtrack code: a snapshot of the committed HEAD, or the work tree")
    a = ap.parse_args()
    spy = py_spy()
    out_dir = RESULTS / f"profile-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="nbtrack-prof-"))
    kernel, desc = bench_source.prepare(a.source)
    env = dict(os.environ)
    env["NBTRACK_DIR"] = str(tmp / "nbtrack")
    from nbtrack.client.localserver import ensure_local_server, stop_local_server

    info = ensure_local_server(tmp / "nbtrack")
    server_raw = out_dir / "server.txt"
    kernel_raw = out_dir / "kernel.txt"
    server_spy = subprocess.Popen([spy, "record", "-r", str(a.rate), "--threads", "-f", "raw",
                                   "-o", str(server_raw), "--pid", str(info.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        params = json.dumps({"n": a.steps, "keys": a.keys, "workdir": str(tmp / "w"),
                             "verify": True})
        t0 = time.perf_counter()
        subprocess.check_call([spy, "record", "-r", str(a.rate), "--threads", "-f", "raw",
                               "-o", str(kernel_raw), "--", sys.executable,
                               str(HERE / "bench_worker.py"), "nbtrack", "loop", params,
                               str(out_dir / "worker.json")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        time.sleep(0.5)
    finally:
        server_spy.send_signal(signal.SIGINT)
        try:
            server_spy.wait(30)
        except subprocess.TimeoutExpired:
            server_spy.kill()
        stop_local_server(tmp / "nbtrack")
        shutil.rmtree(tmp, ignore_errors=True)
        if kernel != KERNEL:
            shutil.rmtree(kernel.parent, ignore_errors=True)
    result = json.loads((out_dir / "worker.json").read_text())
    head = (f"## nbtrack profile: {a.steps} steps × {a.keys} floats, loop + finish, local mode, "
            f"{desc}\n\n"
            f"worker metrics (under py-spy): {json.dumps(result.get('metrics'))}\n"
            f"wall incl. startup: {wall:.1f} s\n\n")
    text = head + summarise("kernel process", kernel_raw, a.rate, a.steps)
    if server_raw.exists():
        text += "\n" + summarise("server process", server_raw, a.rate, a.steps)
    (out_dir / "summary.md").write_text(text)
    print(text)
    print(f"raw stacks and summary: {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

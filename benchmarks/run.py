"""nbtrack beside the floor and its peers, every workload, in one session.

    python benchmarks/run.py                       # everything, 3 repetitions (~25-40 min)
    python benchmarks/run.py --quick               # smoke: nbtrack + floor, small N, 1 rep
    python benchmarks/run.py --tools nbtrack,floor,trackio --reps 5
    python benchmarks/run.py --workloads loop,latency --reps 3

Each peer is installed (once) into its own virtual environment under
``benchmarks/results/venvs/<tool>``; nbtrack and the floor run under this interpreter with
a snapshot of the committed ``kernel/`` (``--source worktree``: the files as they are) first
on ``PYTHONPATH``. Every measurement runs in a fresh subprocess
(``benchmarks/bench_worker.py``), tools alternate within each repetition (the order rotates
per repetition), and the medians are printed as a table with ratios to the floor. All raw
results, the medians, versions and the machine go to ``benchmarks/results/bench-*.json``
(and ``latest.json``). See ``benchmarks/README.md`` for what each workload does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
KERNEL = ROOT / "kernel"
RESULTS = HERE / "results"
VENVS = RESULTS / "venvs"
WORKER = HERE / "bench_worker.py"

ALL_TOOLS = ["nbtrack", "floor", "wandb", "trackio", "mlflow", "tensorboardx"]
PEERS = {
    # tool: (pip requirement, distribution name for the version)
    "wandb": ("wandb==0.31.*", "wandb"),
    "trackio": ("trackio==0.43.*", "trackio"),
    # mlflow 3.18.0 needs mlflow-skinny 3.18.0, which the registry here does not serve.
    "mlflow": ("mlflow>=3.17,<3.19", "mlflow"),
    "tensorboardx": ("tensorboardX==2.6.*", "tensorboardX"),
}
# Steps are divided by this for slow peers; their times are scaled back up (linear
# extrapolation, marked "~" in the table). Per-call latency percentiles are not scaled.
SCALE = {"mlflow": 100, "tensorboardx": 10}
# trackio writes to SQLite inline in log() once more than one run is open (~4 ms per call
# here), so its 4-runs case runs 1/20 of the steps.
SCALE_WORKLOAD = {("trackio", "runs"): 20}


def scale_of(tool: str, workload: str) -> int:
    if workload in ("init_warm", "init_cold", "memory"):
        return 1
    return SCALE_WORKLOAD.get((tool, workload), SCALE.get(tool, 1))

ALL_WORKLOADS = ["latency", "loop", "wide", "threads", "runs", "init_warm", "init_cold",
                 "memory", "numpy"]
# Workloads that make no sense for some tools (see README): the cold start is about
# nbtrack's embedded server (peers have no server: their init is always "cold" and is the
# init_warm figure); 1M steps would take mlflow ~25 min and tensorboardX ~10 min per rep.
SKIP = {
    "init_cold": {"floor", "wandb", "trackio", "mlflow", "tensorboardx"},
    "memory": {"mlflow", "tensorboardx"},
}
# Peers whose memory workload runs only in the first repetition (1M steps ≈ 2-3 min each).
MEMORY_ONCE = {"wandb", "trackio"}
SCALED_KEYS = ("total_s", "loop_s", "finish_s")


@dataclass
class Sizes:
    n: int = 100_000
    wide_steps: int = 1_000
    wide_keys: int = 1_000
    threads: int = 8
    runs: int = 4
    memory_n: int = 1_000_000
    numpy_steps: int = 3_000


QUICK = Sizes(n=5_000, wide_steps=50, wide_keys=1_000, memory_n=20_000, numpy_steps=200)


@dataclass
class Session:
    tools: list[str]
    workloads: list[str]
    reps: int
    sizes: Sizes
    out_dir: Path
    timeout: float
    pythons: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    nbtrack_dir: Path | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- setup


def _say(msg: str) -> None:
    print(msg, flush=True)


def venv_python(tool: str) -> Path:
    return VENVS / tool / "bin" / "python"


def ensure_peer(tool: str) -> tuple[str | None, str | None]:
    """The peer's interpreter, installing it first if needed; (python, error)."""
    req, _ = PEERS[tool]
    py = venv_python(tool)
    marker = VENVS / tool / ".bench-installed"
    if py.exists() and marker.exists() and marker.read_text() == req:
        return str(py), None
    VENVS.mkdir(parents=True, exist_ok=True)
    log = VENVS / f"{tool}.install.log"
    _say(f"installing {req} into {VENVS / tool} (log: {log}) ...")
    with open(log, "w") as f:
        rc = subprocess.call([sys.executable, "-m", "venv", str(VENVS / tool)], stdout=f,
                             stderr=subprocess.STDOUT)
        if rc == 0:
            rc = subprocess.call([str(py), "-m", "pip", "install", "-q", req, "numpy", "psutil"],
                                 stdout=f, stderr=subprocess.STDOUT)
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-5:])
        return None, f"pip install {req} failed (rc={rc}): {tail}"
    marker.write_text(req)
    return str(py), None


def dist_version(python: str, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    try:
        return subprocess.check_output([python, "-c", code], text=True, timeout=60,
                                       stderr=subprocess.DEVNULL).strip()
    except (subprocess.SubprocessError, OSError):
        return "?"


def nbtrack_version(desc: str) -> str:
    from nbtrack.version import __version__

    return f"{__version__} ({desc})"


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu_model": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "python_impl": platform.python_implementation(), "os": platform.platform(),
        "hostname_hash": hash(platform.node()) & 0xFFFF,
    }
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    try:
        import google.protobuf

        info["protobuf"] = google.protobuf.__version__
        from google.protobuf.internal import api_implementation

        info["protobuf_impl"] = api_implementation.Type()
    except ImportError:
        pass
    info["loadavg_start"] = os.getloadavg()
    return info


# --------------------------------------------------------------------------- nbtrack server


def _launcher() -> Any:
    import nbtrack.client.localserver as launcher

    return launcher


def start_server(nbtrack_dir: Path) -> int:
    info = _launcher().ensure_local_server(nbtrack_dir)
    return int(info.pid)


def stop_server(nbtrack_dir: Path) -> None:
    try:
        _launcher().stop_local_server(nbtrack_dir)
    except Exception as exc:
        _say(f"  (could not stop the server in {nbtrack_dir}: {exc})")


# --------------------------------------------------------------------------- measurements


class RssSampler:
    """Peak RSS of given pids (the nbtrack server) and of the worker's children, sampled."""

    def __init__(self, worker_pid: int, server_pid: int | None) -> None:
        import psutil

        self.psutil = psutil
        self.worker_pid = worker_pid
        self.server = psutil.Process(server_pid) if server_pid else None
        self.server_base = self._rss(self.server)
        self.server_peak = self.server_base
        self.helpers_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @staticmethod
    def _rss(p: Any) -> int:
        try:
            return int(p.memory_info().rss) if p is not None else 0
        except Exception:
            return 0

    def _loop(self) -> None:
        try:
            worker = self.psutil.Process(self.worker_pid)
        except Exception:
            return
        while not self._stop.wait(0.1):
            self.server_peak = max(self.server_peak, self._rss(self.server))
            try:
                kids = worker.children(recursive=True)
            except Exception:
                continue
            self.helpers_peak = max(self.helpers_peak, sum(self._rss(k) for k in kids))

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        out = {"helpers_peak_rss_mb": self.helpers_peak / 2**20}
        if self.server is not None:
            out["server_base_rss_mb"] = self.server_base / 2**20
            out["server_peak_rss_mb"] = self.server_peak / 2**20
            out["server_rss_delta_mb"] = (self.server_peak - self.server_base) / 2**20
        return out


def params_for(workload: str, tool: str, sizes: Sizes) -> dict[str, Any]:
    scale = scale_of(tool, workload)
    n = max(sizes.n // scale, 100)
    verify = tool == "nbtrack"
    if workload == "latency":
        return {"n": n}
    if workload == "loop":
        return {"n": n, "verify": verify}
    if workload == "wide":
        return {"steps": max(sizes.wide_steps // scale, 5), "keys": sizes.wide_keys,
                "verify": verify}
    if workload == "threads":
        return {"threads": sizes.threads, "n": n, "verify": verify}
    if workload == "runs":
        return {"runs": sizes.runs, "n": n, "verify": verify}
    if workload == "memory":
        return {"n": sizes.memory_n}
    if workload == "numpy":
        return {"steps": max(sizes.numpy_steps // min(scale, 10), 100)}
    return {}


def run_one(s: Session, tool: str, workload: str, rep: int) -> dict[str, Any]:
    params = params_for(workload, tool, s.sizes)
    worker_workload = "init" if workload.startswith("init") else workload
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{tool}-{workload}-"))
    params["workdir"] = str(workdir / "w")
    env = dict(os.environ)
    env.update({"PYTHONHASHSEED": "0", "WANDB_SILENT": "true", "OPENBLAS_NUM_THREADS": "1",
                "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    own_server: Path | None = None
    server_pid: int | None = None
    if tool not in ("nbtrack", "floor"):
        env.pop("PYTHONPATH", None)  # the nbtrack snapshot is for nbtrack only
    if tool == "nbtrack":
        if workload in ("init_cold", "memory"):
            own_server = workdir / "nbtrack"  # fresh: no server yet / a server of its own
            env["NBTRACK_DIR"] = str(own_server)
            if workload == "memory":
                server_pid = start_server(own_server)
        else:
            assert s.nbtrack_dir is not None
            env["NBTRACK_DIR"] = str(s.nbtrack_dir)
    out = workdir / "result.json"
    cmd = [s.pythons[tool], str(WORKER), tool, worker_workload, json.dumps(params), str(out)]
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    with open(workdir / "worker.log", "wb") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                cwd=str(workdir), start_new_session=True)
        sampler = RssSampler(proc.pid, server_pid) if workload == "memory" else None
        try:
            rc = proc.wait(timeout=s.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = -9
        extra = sampler.stop() if sampler is not None else {}
    wall = time.perf_counter() - t0
    if own_server is not None:
        stop_server(own_server)
    try:
        result = json.loads(out.read_text())
    except (OSError, ValueError):
        tail = (workdir / "worker.log").read_text(errors="replace")[-1500:]
        result = {"tool": tool, "workload": worker_workload, "ok": False,
                  "error": f"worker exited rc={rc} without a result"
                  + (" (timeout)" if rc == -9 else ""),
                  "log_tail": tail}
    result["workload"] = workload
    result["rep"] = rep
    result["wall_s"] = wall
    result["loadavg_1m"] = load
    result["scale"] = scale_of(tool, workload)
    if result.get("ok"):
        m = result["metrics"]
        m.update(extra)
        if result["scale"] > 1 and workload in ("loop", "wide", "threads", "runs", "latency"):
            for k in SCALED_KEYS:
                if k in m:
                    m[k + "_measured"] = m[k]
                    m[k] = m[k] * result["scale"]
    elif result.get("traceback") is None and (workdir / "worker.log").exists():
        result["log_tail"] = (workdir / "worker.log").read_text(errors="replace")[-1500:]
    shutil.rmtree(workdir, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- report

COLUMNS: list[tuple[str, str, str, str]] = [
    # (header, workload, metric, format); ratio to the floor is added for *_s totals
    ("log p50 µs", "latency", "p50_us", "{:.2f}"),
    ("log p99 µs", "latency", "p99_us", "{:.1f}"),
    ("100k×10 s", "loop", "total_s", "{:.2f}"),
    ("finish@100k s", "loop", "finish_s", "{:.3f}"),
    ("wide 1k×1k s", "wide", "total_s", "{:.2f}"),
    ("8 threads s", "threads", "total_s", "{:.2f}"),
    ("4 runs s", "runs", "total_s", "{:.2f}"),
    ("init warm s", "init_warm", "init_first_log_s", "{:.3f}"),
    ("init cold s", "init_cold", "init_first_log_s", "{:.3f}"),
    ("ΔRSS 1M MB", "memory", "rss_delta_mb", "{:.1f}"),
    ("server ΔRSS MB", "memory", "server_rss_delta_mb", "{:.1f}"),
    ("numpy slowdown %", "numpy", "slowdown_pct", "{:.1f}"),
]
RATIO_COLUMNS = {"100k×10 s", "wide 1k×1k s", "8 threads s", "4 runs s"}


def medians(results: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """tool -> workload -> metric -> median over repetitions."""
    acc: dict[str, dict[str, dict[str, list[float]]]] = {}
    for r in results:
        if not r.get("ok"):
            continue
        slot = acc.setdefault(r["tool"], {}).setdefault(r["workload"], {})
        for k, v in r["metrics"].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                slot.setdefault(k, []).append(float(v))
    return {t: {w: {k: statistics.median(v) for k, v in ms.items()} for w, ms in ws.items()}
            for t, ws in acc.items()}


def table(med: dict[str, dict[str, dict[str, float]]], tools: list[str]) -> str:
    floor = med.get("floor", {})
    head = ["tool", *[c[0] for c in COLUMNS]]
    rows = [head]
    for tool in tools:
        row = [tool]
        for header, workload, metric, fmt in COLUMNS:
            v = med.get(tool, {}).get(workload, {}).get(metric)
            if v is None:
                row.append("—")
                continue
            cell = fmt.format(v)
            if scale_of(tool, workload) > 1 and workload in ("loop", "wide", "threads", "runs"):
                cell = "~" + cell
            base = floor.get(workload, {}).get(metric)
            if header in RATIO_COLUMNS and base and tool != "floor":
                cell += f" ({v / base:.1f}×)"
            row.append(cell)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def targets(med: dict[str, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    """The issue's targets for nbtrack, each with the measured value and met / missed."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, le: bool = True) -> None:
        if value is None:
            out.append({"target": name, "value": None, "limit": limit, "met": None})
            return
        met = value <= limit if le else value >= limit
        out.append({"target": name, "value": round(value, 4), "limit": limit, "met": met})

    def get(tool: str, w: str, m: str) -> float | None:
        return med.get(tool, {}).get(w, {}).get(m)

    add("log() p50 ≤ 3 µs", get("nbtrack", "latency", "p50_us"), 3.0)
    add("log() p99 ≤ 30 µs", get("nbtrack", "latency", "p99_us"), 30.0)
    for w, label in (("loop", "100k×10"), ("wide", "wide 1k×1k"), ("threads", "8 threads"),
                     ("runs", "4 runs")):
        mine = get("nbtrack", w, "total_s")
        fl, tr, wb = get("floor", w, "total_s"), get("trackio", w, "total_s"), get(
            "wandb", w, "total_s")
        add(f"{label}: ≤ 2× floor", mine / fl if mine and fl else None, 2.0)
        add(f"{label}: ≥ 2× faster than trackio", tr / mine if mine and tr else None, 2.0,
            le=False)
        add(f"{label}: ≥ 5× faster than wandb", wb / mine if mine and wb else None, 5.0,
            le=False)
    add("init, server running ≤ 0.3 s", get("nbtrack", "init_warm", "init_first_log_s"), 0.3)
    add("init, server started ≤ 1.5 s", get("nbtrack", "init_cold", "init_first_log_s"), 1.5)
    add("finish after 100k ≤ 0.5 s", get("nbtrack", "loop", "finish_s"), 0.5)
    add("1M steps: process peak RSS +≤ 50 MB", get("nbtrack", "memory", "rss_delta_mb"), 50.0)
    add("1M steps: server peak RSS +≤ 100 MB", get("nbtrack", "memory", "server_rss_delta_mb"),
        100.0)
    add("NumPy ~1 ms/step loop slowdown ≤ 5%", get("nbtrack", "numpy", "slowdown_pct"), 5.0)
    return out


def verification(results: list[dict[str, Any]]) -> dict[str, Any]:
    """nbtrack: were all rows in the log and on the server when finish returned?"""
    checks = [r["metrics"]["verify"] for r in results
              if r.get("ok") and r["tool"] == "nbtrack" and "verify" in r["metrics"]]
    return {"checked": len(checks), "all_ok": all(c.get("ok") for c in checks),
            "failures": [c for c in checks if not c.get("ok")][:5]}


# --------------------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke mode: nbtrack + floor, small N, 1 repetition")
    ap.add_argument("--tools", help=f"comma list from {','.join(ALL_TOOLS)}")
    ap.add_argument("--workloads", help=f"comma list from {','.join(ALL_WORKLOADS)}")
    ap.add_argument("--reps", type=int, help="repetitions (default 3, quick 1)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON result")
    ap.add_argument("--timeout", type=float, default=1800.0, help="per measurement, seconds")
    ap.add_argument("--report", type=Path, metavar="JSON",
                    help="only print the table and targets of a result file (or partial.json)")
    ap.add_argument("--source", choices=("head", "worktree"), default="head",
                    help="nbtrack code: a snapshot of the committed HEAD (default; others may "
                    "be editing kernel/) or the work tree as it is")
    return ap.parse_args(argv)


def report(path: Path) -> int:
    doc = json.loads(path.read_text())
    results = doc["results"]
    tools = [t for t in ALL_TOOLS if any(r["tool"] == t for r in results)]
    med = medians(results)
    reps = sorted({r["rep"] for r in results})
    _say(f"{path}: {len(results)} measurements, repetitions {[r + 1 for r in reps]}, "
         f"versions {doc.get('versions')}\n")
    _say(table(med, tools))
    _say("")
    for t in targets(med):
        mark = "n/a" if t["met"] is None else ("**met**" if t["met"] else "**MISSED**")
        _say(f"- {mark} {t['target']}: {t['value']} (limit {t['limit']})")
    _say(f"\nverification: {verification(results)}")
    m = doc.get("machine", {})
    _say(f"machine: {m.get('cpu_model')}, {m.get('cores')} cores, Python {m.get('python')}, "
         f"{m.get('os')}, protobuf {m.get('protobuf')} ({m.get('protobuf_impl')}); "
         f"load average at start {m.get('loadavg_start')}, at end {doc.get('loadavg_end')}")
    loads = [r["loadavg_1m"] for r in results if "loadavg_1m" in r]
    if loads:
        _say(f"1-min load average per measurement: min {min(loads):.1f}, median "
             f"{statistics.median(loads):.1f}, max {max(loads):.1f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    if a.report:
        return report(a.report)
    tools = a.tools.split(",") if a.tools else (["nbtrack", "floor"] if a.quick else ALL_TOOLS)
    workloads = a.workloads.split(",") if a.workloads else ALL_WORKLOADS
    bad = [t for t in tools if t not in ALL_TOOLS] + [w for w in workloads
                                                       if w not in ALL_WORKLOADS]
    if bad:
        _say(f"unknown tools/workloads: {bad}")
        return 2
    s = Session(tools=tools, workloads=workloads, reps=a.reps or (1 if a.quick else 3),
                sizes=QUICK if a.quick else Sizes(), out_dir=a.out, timeout=a.timeout)
    kernel, desc = bench_source.prepare(a.source)
    s.versions["nbtrack"] = nbtrack_version(desc)
    for tool in tools:
        if tool in ("nbtrack", "floor"):
            s.pythons[tool] = sys.executable
            continue
        py, err = ensure_peer(tool)
        if py is None:
            s.errors[tool] = err or "?"
            _say(f"{tool}: not run: {err}")
            continue
        s.pythons[tool] = py
        s.versions[tool] = dist_version(py, PEERS[tool][1])
    tools = [t for t in tools if t in s.pythons]
    machine = machine_info()
    _say(f"machine: {machine['cpu_model']}, {machine['cores']} cores, Python "
         f"{machine['python']}, {machine['os']}, load {machine['loadavg_start'][0]:.2f}")
    _say("versions: " + ", ".join(f"{k} {v}" for k, v in s.versions.items()))

    def _term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _term)
    s.out_dir.mkdir(parents=True, exist_ok=True)
    partial = s.out_dir / "partial.json"
    tmp_root = Path(tempfile.mkdtemp(prefix="nbtrack-bench-"))
    s.nbtrack_dir = tmp_root / "nbtrack"
    started = time.time()
    try:
        if "nbtrack" in tools:
            start_server(s.nbtrack_dir)
        for rep in range(s.reps):
            order = tools[rep % len(tools):] + tools[:rep % len(tools)]
            for workload in workloads:
                for tool in order:
                    if tool in SKIP.get(workload, set()):
                        continue
                    if workload == "memory" and tool in MEMORY_ONCE and rep > 0:
                        continue
                    r = run_one(s, tool, workload, rep)
                    s.results.append(r)
                    partial.write_text(json.dumps({"machine": machine, "versions": s.versions,
                                                   "results": s.results}))
                    _say(f"[rep {rep + 1}/{s.reps}] {workload:9} {tool:12} "
                         + (_brief(r) if r.get("ok") else f"FAILED: {r.get('error')}"))
    finally:
        if s.nbtrack_dir is not None:
            stop_server(s.nbtrack_dir)
        shutil.rmtree(tmp_root, ignore_errors=True)
        if kernel != KERNEL:
            shutil.rmtree(kernel.parent, ignore_errors=True)

    med = medians(s.results)
    tgt = targets(med) if "nbtrack" in tools else []
    ver = verification(s.results)
    text = table(med, tools)
    scaled = ", ".join([f"{t} 1/{k}" for t, k in SCALE.items() if t in tools]
                       + [f"{t} {w} 1/{k}" for (t, w), k in SCALE_WORKLOAD.items() if t in tools])
    _say("\nMedians over repetitions (× = ratio to the floor"
         + (f"; ~ = extrapolated from fewer steps: {scaled}" if scaled else "") + "):\n")
    _say(text)
    if tgt:
        _say("\nTargets (nbtrack):")
        for t in tgt:
            mark = "n/a" if t["met"] is None else ("MET" if t["met"] else "MISSED")
            _say(f"  {mark:6} {t['target']}: {t['value']} (limit {t['limit']})")
    _say(f"\nnbtrack rows in the log and on the server at finish: {ver}")
    failed = [r for r in s.results if not r.get("ok")]
    doc = {
        "command": " ".join([Path(sys.executable).name, "benchmarks/run.py", *(argv or
                                                                               sys.argv[1:])]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "duration_s": round(time.time() - started, 1), "quick": a.quick, "reps": s.reps,
        "sizes": s.sizes.__dict__, "scale": SCALE,
        "scale_workload": {f"{t}/{w}": k for (t, w), k in SCALE_WORKLOAD.items()},
        "machine": machine,
        "loadavg_end": os.getloadavg(), "versions": s.versions, "not_run": s.errors,
        "medians": med, "targets": tgt, "verification": ver, "table": text,
        "failures": [{k: r.get(k) for k in ("tool", "workload", "rep", "error", "log_tail",
                                            "traceback")} for r in failed],
        "results": s.results,
    }
    s.out_dir.mkdir(parents=True, exist_ok=True)
    path = s.out_dir / f"bench-{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if a.quick else ''}.json"
    path.write_text(json.dumps(doc, indent=1))
    shutil.copyfile(path, s.out_dir / "latest.json")
    partial.unlink(missing_ok=True)
    _say(f"\nresults: {path}")
    return 1 if failed else 0


def _brief(r: dict[str, Any]) -> str:
    m = r["metrics"]
    keys = ("p50_us", "p99_us", "total_s", "finish_s", "init_first_log_s", "rss_delta_mb",
            "server_rss_delta_mb", "helpers_peak_rss_mb", "slowdown_pct")
    parts = [f"{k}={m[k]:.4g}" for k in keys if k in m]
    if "verify" in m:
        parts.append(f"verified={m['verify'].get('ok')}")
    return " ".join(parts) + f" (wall {r['wall_s']:.1f}s, load {r['loadavg_1m']:.1f})"


if __name__ == "__main__":
    sys.exit(main())

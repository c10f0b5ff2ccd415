"""Smoke test of the benchmark harness: ``benchmarks/run.py --quick`` runs every workload for
nbtrack and the floor and records a number for each (timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# workload -> the metric the table reads for it
EXPECTED = {
    "latency": "p50_us",
    "loop": "total_s",
    "wide": "total_s",
    "threads": "total_s",
    "runs": "total_s",
    "init_warm": "init_first_log_s",
    "init_cold": "init_first_log_s",
    "memory": "rss_delta_mb",
    "numpy": "slowdown_pct",
}


@pytest.mark.timeout(600)
def test_quick_run_produces_numbers_for_every_workload(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=580, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = sorted(tmp_path.glob("bench-*-quick.json"))
    assert files, proc.stdout[-2000:]
    doc = json.loads(files[-1].read_text())

    assert doc["machine"]["cores"] >= 1 and doc["machine"]["python"]
    assert "nbtrack" in doc["versions"]
    assert not doc["failures"], doc["failures"]
    med = doc["medians"]
    for tool in ("nbtrack", "floor"):
        for workload, metric in EXPECTED.items():
            if workload == "init_cold" and tool == "floor":
                continue
            value = med.get(tool, {}).get(workload, {}).get(metric)
            assert isinstance(value, float), (tool, workload, metric, med.get(tool))
    assert isinstance(med["nbtrack"]["memory"]["server_rss_delta_mb"], float)
    # every nbtrack row was in the transaction log and on the server when finish returned
    assert doc["verification"]["checked"] >= 4
    assert doc["verification"]["all_ok"], doc["verification"]
    assert doc["targets"] and all("met" in t for t in doc["targets"])
    assert "| nbtrack" in proc.stdout and "| floor" in proc.stdout

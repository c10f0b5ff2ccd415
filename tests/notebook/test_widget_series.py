"""The kernel's series copy (``notebook/series.py``) and the front end's copy
(``js/src/widget/seriesstore.js``, run by node) stay equal through every patch.

The stream comes from the real sampler (``pipeline/handler/sampling.py``): fast keys that
merge (buckets fill, the per-update budget), a slow key, ±inf, a NaN tail. After each patch
the JS copy must equal the kernel's, point for point; a full patch (what a reloaded page gets)
must give the same; a patch after a missed one must be refused (the front end then asks for
a full one). Extremes must survive: every key's min / max are the sampler's.
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nbtrack.notebook.series import MAX_BUCKETS, SeriesMirror, regroup
from nbtrack.pipeline.handler.sampling import HistorySampler

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "js" / "src" / "widget" / "seriesstore.js"

NODE_SCRIPT = """
import { readFileSync } from 'node:fs';
import { applyPatch, applyState, createStore } from %s;
const steps = JSON.parse(readFileSync(0, 'utf8'));
const buf = (b) => {
  const x = Buffer.from(b, 'base64');
  return new DataView(x.buffer, x.byteOffset, x.byteLength);
};
const store = createStore();
const out = [];
const enc = (v) => (Number.isNaN(v) ? 'NaN'
  : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v);
const dump = (s) => Object.fromEntries(Object.entries(s.entries).map(([k, e]) => [k, {
  steps: e.steps, values: e.values.map(enc), min: enc(e.min), max: enc(e.max),
  last: enc(e.last) }]));
for (const p of steps) {
  if (p.state) {
    const fresh = createStore();
    applyState(fresh, { ...p.content, ints: buf(p.buffers[0]), floats: buf(p.buffers[1]) });
    out.push({ state: dump(fresh) });
    continue;
  }
  const r = applyPatch(store, p.content, p.buffers.map(buf));
  out.push({ gap: r.gap, entries: dump(store) });
}
process.stdout.write(JSON.stringify(out));
"""


def _enc(v: float) -> Any:
    if math.isnan(v):
        return "NaN"
    return "inf" if v == math.inf else "-inf" if v == -math.inf else v


def _dump(mirror: SeriesMirror) -> dict[str, Any]:
    return {k: {"steps": [float(s) for s in e["steps"]], "values": [_enc(v) for v in e["values"]],
                "min": _enc(e["min"]), "max": _enc(e["max"]), "last": _enc(e["last"])}
            for k, e in ((k, mirror[k]) for k in mirror)}


def _node(patches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required (Node 20 is part of the dev environment)")
    script = NODE_SCRIPT % json.dumps(STORE.as_uri())
    done = subprocess.run([node, "--input-type=module", "-e", script], input=json.dumps(patches),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def _wire(patch: Any, *, state: bool = False) -> dict[str, Any]:
    return {"content": patch.content(), "state": state,
            "buffers": [base64.b64encode(b).decode() for b in patch.buffers()]}


def _snapshot(sampler: HistorySampler) -> dict[str, Any]:
    return {s.key: {"steps": s.steps, "values": s.values, "min": s.min, "max": s.max,
                    "last": s.last, "count": s.count} for s in sampler.snapshot()}


def test_js_copy_equals_kernel_copy_through_merges() -> None:
    sampler = HistorySampler()
    mirror = SeriesMirror()
    patches: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    step = 0
    for tick in range(60):
        rows = 400 if tick < 50 else 3  # fast, then slow
        steps = list(range(step, step + rows))
        step += rows
        cols: dict[str, tuple[list[int], list[Any]]] = {
            f"k{j}": (steps, [math.sin(s / 40 + j) + (9.0 if s == 7777 else 0.0) for s in steps])
            for j in range(30)}
        cols["inf"] = (steps, [math.inf if s == 5000 else -math.inf if s == 9000 else s * 0.5
                               for s in steps])
        cols["nan_tail"] = (steps, [math.nan if s > 15000 else 1.0 for s in steps])
        if tick % 7 == 0:
            cols["sparse"] = (steps[:1], [float(tick)])
        sampler.add_columns(cols)
        patch = mirror.update(_snapshot(sampler), rebuild=tick == 59)
        assert patch is not None
        patches.append(_wire(patch))
        expected.append(_dump(mirror))
        if tick in (20, 58):  # a reloaded page: the state (a whole patch) alone
            patches.append(_wire(mirror.full(), state=True))
            expected.append(_dump(mirror))
    got = _node(patches)
    for i, (g, want) in enumerate(zip(got, expected, strict=True)):
        if "state" in g:
            assert g["state"] == want, f"full patch {i} differs"
        else:
            assert not g["gap"], i
            assert g["entries"] == want, f"after patch {i} the copies differ"
    final = mirror["k3"]
    assert len(mirror) == 33
    snap = _snapshot(sampler)
    for key in ("k0", "k3", "inf"):
        assert mirror[key]["min"] == snap[key]["min"] and mirror[key]["max"] == snap[key]["max"]
    assert mirror["k3"]["max"] == pytest.approx(snap["k3"]["max"]) and snap["k3"]["max"] > 9
    assert mirror["inf"]["max"] == math.inf and mirror["inf"]["min"] == -math.inf
    assert math.isnan(mirror["nan_tail"]["last"]) and math.isnan(mirror["nan_tail"]["values"][-1])
    assert final["steps"][-1] == step - 1 and final["last"] == snap["k3"]["last"]
    assert len(final["steps"]) <= 2 * MAX_BUCKETS + 1


def test_budget_bounds_points_per_update_and_a_gap_is_refused() -> None:
    sampler = HistorySampler()
    mirror = SeriesMirror()
    step = 0
    sizes = []
    patches = []
    for _tick in range(40):
        steps = list(range(step, step + 250))
        step += 250
        sampler.add_columns({f"m{j:02d}": (steps, [math.cos(s / 30 + j) for s in steps])
                             for j in range(50)})
        patch = mirror.update(_snapshot(sampler))
        assert patch is not None
        sizes.append(patch.points)
        patches.append(_wire(patch))
    # after the first patch (every key from nothing) at most 4 points a key
    assert max(sizes[1:]) <= 50 * 4, sizes
    # patch 5 missing: the JS copy refuses 6 on (gap) and stays as it was after 4
    got = _node(patches[:5] + patches[6:8])
    assert [g["gap"] for g in got] == [False] * 5 + [True, True]
    assert got[-1]["entries"] == got[4]["entries"]


def test_regroup_keeps_extremes_in_step_order() -> None:
    steps = [0, 1, 2, 3, 4, 5, 6, 7]
    values = [3.0, 1.0, 1.0, 5.0, 2.0, 2.0, 9.0, 0.0]
    assert regroup(steps, values, 0, 1) == ([0, 1, 2, 3, 4, 6, 7],
                                            [3.0, 1.0, 1.0, 5.0, 2.0, 9.0, 0.0])
    s, v = regroup(steps, values, 0, 2)
    assert (s, v) == ([1, 3, 6, 7], [1.0, 5.0, 9.0, 0.0])
    s, v = regroup(steps, values, 0, 3)
    assert (s, v) == ([6, 7], [9.0, 0.0])
    assert regroup([4, 5], [2.0, 2.0], 0, 1) == ([4], [2.0])  # a tie: one point, the earliest

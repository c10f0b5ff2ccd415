// Pure chart logic for the nbtrack run widget: series merging, scales, ticks,
// min/max-preserving downsampling to pixel columns and SVG path building.
// No DOM access here, so everything is unit-tested under `node --test`.

import { toNumber } from './format.js';

/** Normalize one series entry from the wire ({steps, values, min, max, last, count})
 * into numbers, sorted by step, with non-finite values decoded. */
export function normalizeEntry(entry) {
  const e = entry || {};
  const rawSteps = Array.isArray(e.steps) ? e.steps : [];
  const rawValues = Array.isArray(e.values) ? e.values : [];
  const n = Math.min(rawSteps.length, rawValues.length);
  const pairs = [];
  for (let i = 0; i < n; i += 1) {
    const s = toNumber(rawSteps[i]);
    if (!Number.isFinite(s)) continue;
    pairs.push([s, toNumber(rawValues[i])]);
  }
  let sorted = true;
  for (let i = 1; i < pairs.length; i += 1) {
    if (pairs[i][0] < pairs[i - 1][0]) {
      sorted = false;
      break;
    }
  }
  if (!sorted) pairs.sort((a, b) => a[0] - b[0]);
  const steps = pairs.map((p) => p[0]);
  const values = pairs.map((p) => p[1]);
  const last = 'last' in e ? toNumber(e.last) : values.length ? values[values.length - 1] : NaN;
  return {
    steps,
    values,
    min: 'min' in e ? toNumber(e.min) : NaN,
    max: 'max' in e ? toNumber(e.max) : NaN,
    last,
    count: Number.isFinite(toNumber(e.count)) ? toNumber(e.count) : steps.length,
  };
}

/** Merge a `series` update into the current copy (contract: a key present in the
 * update replaces that key's data; a key absent keeps its old data; a key whose
 * update is `null` is removed). Returns a NEW object; inputs are not modified. */
export function mergeSeries(current, update) {
  const out = { ...(current || {}) };
  if (!update || typeof update !== 'object') return out;
  for (const key of Object.keys(update)) {
    const v = update[key];
    if (v === null) delete out[key];
    else out[key] = normalizeEntry(v);
  }
  return out;
}

/** Keys to chart: `selected` (in the order of `allKeys`) or all when empty; keys
 * that no longer exist are ignored. */
export function visibleKeys(allKeys, selected) {
  const keys = [...allKeys].sort(compareKeys);
  if (!Array.isArray(selected) || selected.length === 0) return keys;
  const want = new Set(selected);
  return keys.filter((k) => want.has(k));
}

/** Natural order with the section prefix first: "train/loss" < "train/loss2" < "val/acc". */
export function compareKeys(a, b) {
  return a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });
}

/** Toggle `key` in a selection where [] means "all of allKeys". Returns the new list;
 * selecting every key again collapses back to [] (all). */
export function toggleSelected(selected, allKeys, key) {
  const all = [...allKeys].sort(compareKeys);
  const cur = Array.isArray(selected) && selected.length ? new Set(selected) : new Set(all);
  if (cur.has(key)) cur.delete(key);
  else cur.add(key);
  const next = all.filter((k) => cur.has(k));
  if (next.length === 0) return Array.isArray(selected) ? [...selected] : []; // keep ≥ 1 chart
  if (next.length === all.length) return [];
  return next;
}

/** A linear scale d0..d1 → r0..r1 with `.invert`. A zero-width domain maps to the
 * middle of the range. */
export function linearScale(d0, d1, r0, r1) {
  const span = d1 - d0;
  const f = (x) => (span === 0 ? (r0 + r1) / 2 : r0 + ((x - d0) / span) * (r1 - r0));
  f.invert = (y) => (r1 === r0 ? d0 : d0 + ((y - r0) / (r1 - r0)) * span);
  f.domain = [d0, d1];
  f.range = [r0, r1];
  return f;
}

/** Min and max of the finite numbers in `values` ([NaN, NaN] when there are none). */
export function finiteExtent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [NaN, NaN];
}

/** A padded y domain for finite values; flat data gets room around it. */
export function yDomain(values, pad = 0.06) {
  let [lo, hi] = finiteExtent(values);
  if (Number.isNaN(lo)) return [0, 1];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * pad;
  lo -= d;
  hi += d;
  return [lo, hi];
}

/** "Nice" tick values (1, 2, 5 × 10^k) covering [lo, hi], about `count` of them,
 * all within [lo, hi]. */
export function niceTicks(lo, hi, count = 4) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const first = Math.ceil(lo / step) * step;
  const ticks = [];
  for (let t = first; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
    if (ticks.length > 50) break;
  }
  return ticks;
}

/** Downsample (steps, values) to at most one column per pixel of `width`, keeping
 * every column's min and max (with their steps) plus first, last and mean, so a
 * one-step spike survives any zoom level. `domain` = [s0, s1] of steps mapped to
 * [0, width]. NaN values are skipped; ±Infinity values are not part of any column
 * and are returned in `posInf` / `negInf` (their steps) to be marked at the edge.
 * Returns {columns, posInf, negInf, nan, dense} where `dense` says some column
 * holds more than one point. */
export function downsampleMinMax(steps, values, width, domain) {
  const w = Math.max(1, Math.floor(width));
  const n = Math.min(steps.length, values.length);
  const s0 = domain ? domain[0] : n ? steps[0] : 0;
  const s1 = domain ? domain[1] : n ? steps[n - 1] : 1;
  const span = s1 - s0;
  const columns = [];
  const posInf = [];
  const negInf = [];
  const nan = [];
  let cur = null;
  let curCol = -1;
  let dense = false;
  for (let i = 0; i < n; i += 1) {
    const s = steps[i];
    const v = values[i];
    if (Number.isNaN(v)) {
      nan.push(s);
      continue;
    }
    if (v === Infinity) {
      posInf.push(s);
      continue;
    }
    if (v === -Infinity) {
      negInf.push(s);
      continue;
    }
    let col = span > 0 ? Math.floor(((s - s0) / span) * w) : 0;
    if (col >= w) col = w - 1;
    if (col < 0) col = 0;
    if (cur && col === curCol) {
      cur.n += 1;
      cur.sum += v;
      if (v < cur.min) {
        cur.min = v;
        cur.minStep = s;
      }
      if (v > cur.max) {
        cur.max = v;
        cur.maxStep = s;
      }
      cur.last = v;
      cur.lastStep = s;
      dense = true;
    } else {
      cur = {
        col, n: 1, sum: v, min: v, max: v, minStep: s, maxStep: s,
        first: v, firstStep: s, last: v, lastStep: s,
      };
      curCol = col;
      columns.push(cur);
    }
  }
  for (const c of columns) {
    c.mean = c.sum / c.n;
    delete c.sum;
  }
  return { columns, posInf, negInf, nan, dense };
}

/** The points of the downsampled line in step order: every column contributes its
 * first, min, max and last points (deduplicated) — the "M4" reduction, which draws
 * exactly like the full data at that pixel width. */
export function columnsToPoints(columns) {
  const pts = [];
  for (const c of columns) {
    const cand = [
      [c.firstStep, c.first],
      [c.minStep, c.min],
      [c.maxStep, c.max],
      [c.lastStep, c.last],
    ].sort((a, b) => a[0] - b[0]);
    let prev = null;
    for (const p of cand) {
      if (prev && prev[0] === p[0] && prev[1] === p[1]) continue;
      pts.push(p);
      prev = p;
    }
  }
  return pts;
}

function fmtCoord(x) {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

/** SVG path "M x y L x y ..." for [step, value] points through the two scales. */
export function linePath(points, xs, ys) {
  let d = '';
  for (let i = 0; i < points.length; i += 1) {
    const [s, v] = points[i];
    d += `${i === 0 ? 'M' : 'L'}${fmtCoord(xs(s))} ${fmtCoord(ys(v))}`;
  }
  return d;
}

/** Closed SVG path of the min/max envelope of downsampled columns: along the maxima
 * left to right, back along the minima. Empty when there are no columns. */
export function envelopePath(columns, xs, ys) {
  if (!columns.length) return '';
  const xOf = (c) => xs(c.firstStep === c.lastStep ? c.firstStep : (c.firstStep + c.lastStep) / 2);
  let d = '';
  columns.forEach((c, i) => {
    d += `${i === 0 ? 'M' : 'L'}${fmtCoord(xOf(c))} ${fmtCoord(ys(c.max))}`;
  });
  for (let i = columns.length - 1; i >= 0; i -= 1) {
    const c = columns[i];
    d += `L${fmtCoord(xOf(c))} ${fmtCoord(ys(c.min))}`;
  }
  return `${d}Z`;
}

/** Index of the step closest to `step` in ascending `steps` (-1 when empty). */
export function nearestIndex(steps, step) {
  const n = steps.length;
  if (!n) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] < step) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(steps[lo - 1] - step) <= Math.abs(steps[lo] - step)) return lo - 1;
  return lo;
}

/** Plan a complete small-multiple chart: scales, line, envelope and markers for a
 * series entry in a width×height box with the given padding. Pure data → strings,
 * so the widget only assigns attributes. `pointsDrawn` is what `data-points`
 * reports: the number of line vertices drawn. */
export function planChart(entry, width, height, pad = { l: 4, r: 4, t: 6, b: 6 }) {
  const { steps, values } = entry;
  const innerW = Math.max(1, width - pad.l - pad.r);
  const n = steps.length;
  const s0 = n ? steps[0] : 0;
  const s1 = n ? steps[n - 1] : 1;
  const xDomain = s0 === s1 ? [s0 - 0.5, s1 + 0.5] : [s0, s1];
  const ds = downsampleMinMax(steps, values, innerW, xDomain);
  const colVals = [];
  for (const c of ds.columns) colVals.push(c.min, c.max);
  const yd = yDomain(colVals);
  const xs = linearScale(xDomain[0], xDomain[1], pad.l, width - pad.r);
  const ys = linearScale(yd[0], yd[1], height - pad.b, pad.t);
  let line;
  let points;
  if (ds.dense) {
    // More points than pixels: the line follows each column's mean, the shaded band
    // spans each column's min..max (so extremes, e.g. a one-step spike, stay visible).
    points = ds.columns.map((c) => [(c.firstStep + c.lastStep) / 2, c.mean]);
    line = linePath(points, xs, ys);
  } else {
    points = columnsToPoints(ds.columns);
    line = linePath(points, xs, ys);
  }
  const envelope = ds.dense ? envelopePath(ds.columns, xs, ys) : '';
  return {
    xs,
    ys,
    xDomain,
    yDomain: yd,
    line,
    envelope,
    points,
    pointsDrawn: points.length,
    posInf: ds.posInf.map((s) => xs(s)),
    negInf: ds.negInf.map((s) => xs(s)),
    nanCount: ds.nan.length,
    yTicks: niceTicks(yd[0], yd[1], 4),
  };
}

/** A tiny sparkline path for a list of values (non-finite skipped) in w×h. */
export function sparklinePath(values, w, h, maxPoints = 64) {
  const steps = values.map((_, i) => i);
  const pts = columnsToPoints(downsampleMinMax(steps, values, Math.min(maxPoints, w)).columns);
  if (!pts.length) return '';
  const [lo, hi] = finiteExtent(pts.map((p) => p[1]));
  const xs = linearScale(0, Math.max(1, values.length - 1), 1, w - 1);
  const ys = lo === hi ? () => h / 2 : linearScale(lo, hi, h - 1.5, 1.5);
  return linePath(pts, xs, ys);
}

// Pure chart data for the nbtrack front end (widget and run pages): key order, min/max
// downsampling to pixel columns, the uPlot data of a metric chart (line + min/max band +
// NaN / ±inf marks), ranges and sparkline paths. No DOM here: all of it runs under node --test.

/** Natural order with the section prefix first: "train/loss" < "train/loss2" < "val/acc". */
export function compareKeys(a, b) {
  return KEY_ORDER.compare(a, b);
}
// made once: localeCompare() with options builds a collator on every call
const KEY_ORDER = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Index of the value closest to `x` in ascending `xs` (-1 when empty). */
export function nearestIndex(xs, x) {
  const n = xs.length;
  if (!n) return -1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) return lo - 1;
  return lo;
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

/** A padded y range for the finite values; flat data gets room around it, none gets [0, 1]. */
export function paddedRange(values, pad = 0.06) {
  let [lo, hi] = finiteExtent(values);
  if (Number.isNaN(lo)) return [0, 1];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  const d = (hi - lo) * pad;
  return [lo - d, hi + d];
}

/** The x range of ascending `xs`: first to last, one unit wide around a single value. */
export function xRange(xs) {
  const n = xs.length;
  if (!n) return [0, 1];
  return xs[0] === xs[n - 1] ? [xs[0] - 0.5, xs[0] + 0.5] : [xs[0], xs[n - 1]];
}

/** Downsample (xs, values) to at most one column per pixel of `width`, keeping every
 * column's min and max (with their x) plus first, last and mean, so a one-step spike
 * survives any zoom level. `domain` = [x0, x1] is mapped to [0, width]. NaN values are
 * left out and their x returned in `nan`; ±Infinity likewise in `posInf` / `negInf`
 * (marked at the chart's edge). `dense` says some column holds more than one point. */
export function downsampleMinMax(xs, values, width, domain) {
  const w = Math.max(1, Math.floor(width));
  const n = Math.min(xs.length, values.length);
  const [x0, x1] = domain || xRange(xs);
  const span = x1 - x0;
  const columns = [];
  const posInf = [];
  const negInf = [];
  const nan = [];
  let cur = null;
  let dense = false;
  for (let i = 0; i < n; i += 1) {
    const s = xs[i];
    const v = values[i];
    if (Number.isNaN(v)) {
      nan.push(s);
      continue;
    }
    if (v === Infinity || v === -Infinity) {
      (v > 0 ? posInf : negInf).push(s);
      continue;
    }
    const col = Math.min(w - 1, Math.max(0, span > 0 ? Math.floor(((s - x0) / span) * w) : 0));
    if (cur && col === cur.col) {
      cur.n += 1;
      cur.sum += v;
      if (v < cur.min) [cur.min, cur.minStep] = [v, s];
      if (v > cur.max) [cur.max, cur.maxStep] = [v, s];
      [cur.last, cur.lastStep] = [v, s];
      dense = true;
    } else {
      cur = {
        col, n: 1, sum: v, min: v, max: v, minStep: s, maxStep: s,
        first: v, firstStep: s, last: v, lastStep: s,
      };
      columns.push(cur);
    }
  }
  for (const c of columns) {
    c.mean = c.sum / c.n;
    delete c.sum;
  }
  return { columns, posInf, negInf, nan, dense };
}

/** The points of the downsampled line in x order: every column contributes its first,
 * min, max and last points (deduplicated) — the "M4" reduction, which draws exactly like
 * the full data at that pixel width. */
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

/** Everything a metric chart draws, for a plot area `width` px wide, as uPlot data:
 * `data` = [x, line, hi, lo]. Sparse data (at most one point per pixel column) is drawn
 * point by point and has no band (hi / lo all null); denser data draws each column's mean
 * as the line and its min..max as the band, so extremes such as a one-step spike stay
 * visible. `points` is the number of line vertices; `marks` the NaN / ±inf positions. */
export function chartData(xs, values, width) {
  const domain = xRange(xs);
  const ds = downsampleMinMax(xs, values, width, domain);
  const bounds = [];
  for (const c of ds.columns) bounds.push(c.min, c.max);
  let x;
  let line;
  let hi;
  let lo;
  if (ds.dense) {
    x = ds.columns.map((c) => (c.firstStep + c.lastStep) / 2);
    line = ds.columns.map((c) => c.mean);
    hi = ds.columns.map((c) => c.max);
    lo = ds.columns.map((c) => c.min);
  } else {
    const pts = columnsToPoints(ds.columns);
    x = pts.map((p) => p[0]);
    line = pts.map((p) => p[1]);
    hi = new Array(x.length).fill(null);
    lo = hi;
  }
  return {
    data: [x, line, hi, lo],
    dense: ds.dense,
    points: x.length,
    xRange: domain,
    yRange: paddedRange(bounds),
    marks: { nan: ds.nan, posInf: ds.posInf, negInf: ds.negInf },
  };
}

/** "#4e79a7" with an alpha, as "rgba(78, 121, 167, 0.2)". */
export function withAlpha(hex, alpha) {
  const h = hex.replace('#', '');
  const full = h.length === 3 ? [...h].map((c) => c + c).join('') : h;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

function fmtCoord(x) {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

/** A sparkline's SVG path (non-finite values skipped) in a w×h box. Sparklines (summary
 * rows, system cards) have no axes, cursor or scale, and the summary redraws them all on
 * every series update: 50 of them took 3.8 ms as SVG paths against 33 ms as uPlot charts
 * (Chromium, this machine), each uPlot also holding a canvas and window listeners. */
export function sparklinePath(values, w, h, maxPoints = 64) {
  const xs = values.map((_, i) => i);
  const pts = columnsToPoints(downsampleMinMax(xs, values, Math.min(maxPoints, w)).columns);
  if (!pts.length) return '';
  const [lo, hi] = finiteExtent(pts.map((p) => p[1]));
  const last = Math.max(1, values.length - 1);
  const px = (i) => 1 + (i / last) * (w - 2);
  const py = (v) => (lo === hi ? h / 2 : h - 1.5 - ((v - lo) / (hi - lo)) * (h - 3));
  return pts.map(([i, v], k) => `${k ? 'L' : 'M'}${fmtCoord(px(i))} ${fmtCoord(py(v))}`).join('');
}

// Pure data handling of the run pages: history rows to series, filters and sorting of the
// runs table, the compare view's alignment and config differences.

import { decodeNumber, summaryScalar } from '../shared/format.js';

/** History rows ({_step, key: value, …}) as {key: {steps, values}}: every numeric value,
 * NaN / ±inf decoded (the charts mark those); non-numeric values are left out. */
export function rowsToSeries(rows) {
  const series = {};
  for (const row of rows) {
    const step = row._step;
    if (typeof step !== 'number') continue;
    for (const [k, v] of Object.entries(row)) {
      if (k === '_step') continue;
      const y = decodeNumber(v);
      if (y === null) continue;
      const s = (series[k] = series[k] || { steps: [], values: [] });
      s.steps.push(step);
      s.values.push(y);
    }
  }
  return series;
}

/** The finite points of a series, and how many were not finite. */
export function finitePart(s) {
  const out = { steps: [], values: [], skipped: 0 };
  s.values.forEach((v, i) => {
    if (Number.isFinite(v)) {
      out.steps.push(s.steps[i]);
      out.values.push(v);
    } else {
      out.skipped += 1;
    }
  });
  return out;
}

/** Linear interpolation of `x` in ascending `xs` → `ys` (clamped at the ends). */
export function interp(xs, ys, x) {
  if (!xs.length) return null;
  let lo = 0;
  let hi = xs.length - 1;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[hi]) return ys[hi];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid;
    else hi = mid;
  }
  const t = (x - xs[lo]) / (xs[hi] - xs[lo] || 1);
  return ys[lo] + t * (ys[hi] - ys[lo]);
}

/** Seconds a run ran: its summary's _runtime, else heartbeat (or update) minus creation. */
export function runtimeOf(r) {
  const rt = r.summary ? decodeNumber(r.summary._runtime) : null;
  if (rt !== null && !Number.isNaN(rt)) return rt;
  const a = Date.parse(r.created_at);
  const b = Date.parse(r.heartbeat_at || r.updated_at);
  return Number.isFinite(a) && Number.isFinite(b) ? (b - a) / 1000 : null;
}

/** The summary keys of some runs (not the "_" ones), sorted. */
export function summaryKeys(runs) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(r.summary || {})) if (!k.startsWith('_')) keys.add(k);
  return [...keys].sort();
}

/** A run's config as flat "a.b" keys (nested dicts opened, lists kept whole). */
export function flatConfig(config, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(config || {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) flatConfig(v, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

/** The flat config keys of some runs (not W&B's "_wandb"), sorted. */
export function configKeys(runs) {
  const keys = new Set();
  for (const r of runs) for (const k of Object.keys(flatConfig(r.config))) if (!k.startsWith('_')) keys.add(k);
  return [...keys].sort();
}

/** The summary keys whose value is a number (or a metric's aggregate): the charted ones. */
export function metricKeys(summary) {
  return Object.entries(summary || {})
    .filter(([k, v]) => !k.startsWith('_') && summaryScalar(v) !== null).map(([k]) => k);
}

/** The runs matching a table filter {project, state, text}. */
export function filterRuns(runs, { project = '', state = '', text = '' }) {
  const q = text.trim().toLowerCase();
  return runs.filter((r) => (!project || r.project === project)
    && (!state || r.state === state)
    && (!q || [r.name, r.id, r.project, ...(r.tags || []), r.group || '', r.notes || '']
      .some((x) => String(x).toLowerCase().includes(q))));
}

const COLUMNS = {
  name: (r) => r.name,
  project: (r) => r.project,
  state: (r) => r.state,
  created: (r) => r.created_at || '',
  runtime: runtimeOf,
  last_step: (r) => r.last_step,
  group: (r) => r.group || null,
  tags: (r) => ((r.tags || []).length ? [...r.tags].sort().join(' ') : null),
};

/** The value a table column sorts by; "s:<key>" is a summary column, "c:<key>" a config
 * one (NaN sorts with the missing values, strings as strings, booleans as 0 / 1). */
export function sortValue(r, key) {
  if (key.startsWith('c:')) {
    const v = flatConfig(r.config)[key.slice(2)];
    if (typeof v === 'boolean') return Number(v);
    if (typeof v === 'number' || typeof v === 'string') return v;
    return v === undefined || v === null ? null : JSON.stringify(v);
  }
  if (!key.startsWith('s:')) return COLUMNS[key](r);
  const raw = (r.summary || {})[key.slice(2)];
  if (raw === undefined || raw === null) return null;
  const n = summaryScalar(raw);
  if (n !== null) return Number.isNaN(n) ? null : n;
  return typeof raw === 'string' ? raw : null;
}

/** The runs sorted by a column; missing values last in both directions. */
export function sortRuns(rows, key, dir) {
  const d = dir === 'asc' ? 1 : -1;
  return rows.slice().sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * d;
  });
}

/** uPlot data for series of several runs on the union of their steps (gaps as null). */
export function alignSeries(per) {
  const steps = [...new Set(per.flatMap((s) => s.steps))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  return [steps, ...per.map((s) => {
    const col = new Array(steps.length).fill(null);
    s.steps.forEach((st, i) => { col[index.get(st)] = s.values[i]; });
    return col;
  })];
}

/** The config keys whose values differ between runs, sorted. */
export function configDiff(runs) {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config || {})))].sort();
  return keys.filter((k) => new Set(runs.map((r) => JSON.stringify((r.config || {})[k]))).size > 1);
}

/** System metric rows (the `events` answer) as {key: [xs, ys]} by runtime (else
 * timestamp, else row number), finite values only, the last `limit` rows. */
export function systemSeries(rows, limit = 2000) {
  const series = {};
  rows.slice(-limit).forEach((row, i) => {
    const x = decodeNumber(row._runtime) ?? decodeNumber(row._timestamp) ?? i;
    if (!Number.isFinite(x)) return;
    for (const [k, v] of Object.entries(row)) {
      if (k.startsWith('_')) continue;
      const y = decodeNumber(v);
      if (y === null || !Number.isFinite(y)) continue;
      const s = (series[k] = series[k] || [[], []]);
      s[0].push(x);
      s[1].push(y);
    }
  });
  return series;
}

/** TensorBoard's debiased exponential moving average (weight 0 = the raw values); values
 * that are not finite stay where they are and do not enter the average. */
export function ema(values, weight) {
  if (!(weight > 0)) return values.slice();
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n += 1;
    return last / (1 - weight ** n);
  });
}

/** Metric keys in sections by the prefix before their first "/" (`grad/norm` → "grad");
 * keys without one come first, in a section named "". Sections and keys sorted. */
export function sections(keys) {
  const out = new Map();
  for (const k of [...keys].sort()) {
    const cut = k.indexOf('/');
    const name = cut > 0 ? k.slice(0, cut) : '';
    if (!out.has(name)) out.set(name, []);
    out.get(name).push(k);
  }
  return [...out.entries()].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1));
}

/** A chart's points as CSV (x header, then one row per point). */
export function toCsv(xName, key, steps, values) {
  const quote = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [`${quote(xName)},${quote(key)}`, ...steps.map((s, i) => `${s},${values[i]}`)].join('\n') + '\n';
}

/** The value at the point of ascending `steps` nearest to `x` (null when there is none). */
export function nearestValue(steps, values, x) {
  if (!steps.length) return null;
  let lo = 0;
  let hi = steps.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] <= x) lo = mid;
    else hi = mid;
  }
  return Math.abs(steps[hi] - x) < Math.abs(x - steps[lo]) ? values[hi] : values[lo];
}

// Pure state of the run widget: the merged `series` trait and the metric selection.

import { decodeNumber, formatNumber, toNumber } from '../shared/format.js';
import { compareKeys } from '../shared/series.js';

/** One series entry from the wire ({steps, values, min, max, last, count}) as numbers,
 * sorted by step, NaN / ±inf decoded; a value that is no number at all becomes NaN. */
export function normalizeEntry(entry) {
  const e = entry || {};
  const rawSteps = Array.isArray(e.steps) ? e.steps : [];
  const rawValues = Array.isArray(e.values) ? e.values : [];
  const n = Math.min(rawSteps.length, rawValues.length);
  const pairs = [];
  for (let i = 0; i < n; i += 1) {
    const s = decodeNumber(rawSteps[i]);
    if (s !== null && Number.isFinite(s)) pairs.push([s, toNumber(rawValues[i])]);
  }
  if (pairs.some((p, i) => i > 0 && p[0] < pairs[i - 1][0])) pairs.sort((a, b) => a[0] - b[0]);
  const steps = pairs.map((p) => p[0]);
  const values = pairs.map((p) => p[1]);
  const count = toNumber(e.count);
  return {
    steps,
    values,
    min: 'min' in e ? toNumber(e.min) : NaN,
    max: 'max' in e ? toNumber(e.max) : NaN,
    last: 'last' in e ? toNumber(e.last) : values.length ? values[values.length - 1] : NaN,
    count: Number.isFinite(count) ? count : steps.length,
  };
}

/** Merge a `series` update into the current copy (contract: a key present in the update
 * replaces that key's data; a key absent keeps its old data; a key whose update is `null`
 * is removed). Returns a NEW object; inputs are not modified. */
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

/** Keys to chart: `selected` (in key order) or all when empty; keys that no longer exist
 * are ignored. */
export function visibleKeys(allKeys, selected) {
  const keys = [...allKeys].sort(compareKeys);
  if (!Array.isArray(selected) || selected.length === 0) return keys;
  const want = new Set(selected);
  return keys.filter((k) => want.has(k));
}

/** Toggle `key` in a selection where [] means "all of allKeys". Returns the new list;
 * selecting every key again collapses back to [] (all); the last chart stays. */
export function toggleSelected(selected, allKeys, key) {
  const all = [...allKeys].sort(compareKeys);
  const cur = Array.isArray(selected) && selected.length ? new Set(selected) : new Set(all);
  if (cur.has(key)) cur.delete(key);
  else cur.add(key);
  const next = all.filter((k) => cur.has(k));
  if (next.length === 0) return Array.isArray(selected) ? [...selected] : [];
  if (next.length === all.length) return [];
  return next;
}

/** A chart's footer: step range, min / max, how many NaN (`plan` from chartData). */
export function footText(entry, plan) {
  const n = entry.steps.length;
  const parts = [];
  if (n) parts.push(`step ${formatNumber(entry.steps[0])} – ${formatNumber(entry.steps[n - 1])}`);
  if (!Number.isNaN(entry.min) && !Number.isNaN(entry.max)) {
    parts.push(`min ${formatNumber(entry.min)} · max ${formatNumber(entry.max)}`);
  }
  if (plan.marks.nan.length) parts.push(`${plan.marks.nan.length} NaN`);
  return parts.join('  ·  ');
}

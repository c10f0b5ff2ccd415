// The widget's copy of every metric series, kept equal to the kernel's copy
// (kernel/nbtrack/notebook/series.py) by binary patches: custom comm messages while the run
// streams, the `series` trait's state and, for every new view, a whole patch it asks for
// (a view may start long after the state it finds in the model). One store per view. A patch, per key: merge the buckets up to `shift` (regroup,
// exactly as the kernel does), keep the first `keep` points, append `n` new ones, set the
// last value. Also accepted (the dev harness, older kernels): a `series` trait of plain
// entries {key: {steps, values, min, max, last, count}}, merged as they come.

import { normalizeEntry } from './model.js';

/** Points reduced to each bucket's min and max (earliest step on ties, one point when the
 * same), in step order; buckets are 2**shift steps wide from `origin`. */
export function regroup(steps, values, origin, shift) {
  const width = 2 ** shift;
  const outS = [];
  const outV = [];
  const n = steps.length;
  let i = 0;
  while (i < n) {
    const b = Math.floor((steps[i] - origin) / width);
    let mn = i;
    let mx = i;
    let j = i + 1;
    while (j < n && Math.floor((steps[j] - origin) / width) === b) {
      if (values[j] < values[mn]) mn = j;
      if (values[j] > values[mx]) mx = j;
      j += 1;
    }
    const pick = mn === mx ? [mn] : mn < mx ? [mn, mx] : [mx, mn];
    for (const k of pick) {
      outS.push(steps[k]);
      outV.push(values[k]);
    }
    i = j;
  }
  return [outS, outV];
}

function view(buf) {
  if (buf instanceof DataView) return buf;
  if (buf instanceof ArrayBuffer) return new DataView(buf);
  if (ArrayBuffer.isView(buf)) return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  throw new Error('series patch: a buffer is missing');
}

/** A store: {rev, keys: Map(id -> key), entries: {name: entry}, plain: bool}. */
export function createStore() {
  return { rev: 0, keys: new Map(), entries: {}, plain: false };
}

/** The chart entry of a key: its points plus the last value when that is later (NaN). */
export function entryOf(key) {
  const steps = key.steps.slice();
  const values = key.values.slice();
  if (!steps.length || key.lastStep > steps[steps.length - 1]) {
    steps.push(key.lastStep);
    values.push(key.last);
  }
  let min = NaN;
  let max = NaN;
  for (const v of key.values) {
    if (Number.isNaN(v)) continue;
    if (!(min <= v)) min = v;
    if (!(max >= v)) max = v;
  }
  return { steps, values, min, max, last: key.last };
}

/** Is `value` a binary patch (the `series` state or a custom message's content)? */
export function isPatch(value) {
  return !!value && typeof value === 'object' && value.nbtrack === 'series';
}

/** Apply a patch (`msg` with `buffers` [ints, floats]). Returns {changed: [names], gap}:
 * `gap` says it did not follow the store's revision (nothing applied: ask for a full one). */
export function applyPatch(store, msg, buffers) {
  if (!msg.full && msg.rev !== store.rev + 1) return { changed: [], gap: true };
  const ints = view(buffers[0]);
  const floats = view(buffers[1]);
  if (msg.full) {
    store.keys.clear();
    store.entries = {};
  }
  store.plain = false;
  for (const [id, name, origin] of msg.reset || []) {
    const old = store.keys.get(id);
    if (old && old.name !== name) delete store.entries[old.name];
    store.keys.set(id, { id, name, origin, shift: 0, steps: [], values: [], last: NaN, lastStep: 0 });
  }
  const changed = [];
  const nk = ints.byteLength / 8;
  let f = 0;
  const next = () => {
    const v = floats.getFloat64(f * 8, true);
    f += 1;
    return v;
  };
  for (let k = 0; k < nk; k += 1) {
    const id = ints.getUint16(k * 8, true);
    const shift = ints.getUint16(k * 8 + 2, true);
    const keep = ints.getUint16(k * 8 + 4, true);
    const n = ints.getUint16(k * 8 + 6, true);
    const key = store.keys.get(id);
    if (!key) return { changed, gap: true };
    if (shift > key.shift) [key.steps, key.values] = regroup(key.steps, key.values, key.origin, shift);
    key.shift = shift;
    key.steps.length = Math.min(keep, key.steps.length);
    key.values.length = key.steps.length;
    key.last = next();
    key.lastStep = next();
    for (let i = 0; i < n; i += 1) key.steps.push(next());
    for (let i = 0; i < n; i += 1) key.values.push(next());
    store.entries[key.name] = entryOf(key);
    changed.push(key.name);
  }
  store.rev = msg.rev;
  return { changed, gap: false };
}

/** Merge a plain `series` value (the dev harness' form): a key present replaces that key's
 * data, a key absent keeps its old data, a key whose value is null is removed. */
export function mergePlain(store, update) {
  store.plain = true;
  const changed = [];
  if (!update || typeof update !== 'object') return changed;
  for (const name of Object.keys(update)) {
    const v = update[name];
    if (v === null) delete store.entries[name];
    else store.entries[name] = normalizeEntry(v);
    changed.push(name);
  }
  return changed;
}

/** Take the `series` trait's value into the store (a full binary patch, or plain entries);
 * the buffers of a state patch sit at its `ints` / `floats`. */
export function applyState(store, value) {
  if (isPatch(value)) return applyPatch(store, value, [value.ints, value.floats]);
  return { changed: mergePlain(store, value), gap: false };
}

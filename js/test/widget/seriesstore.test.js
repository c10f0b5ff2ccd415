import assert from 'node:assert/strict';
import { test } from 'node:test';

import { applyPatch, applyState, createStore, entryOf, regroup } from '../../src/widget/seriesstore.js';

// A patch's two buffers as the kernel packs them (little-endian uint16 / float64).
function pack(keys) {
  const ints = new DataView(new ArrayBuffer(keys.length * 8));
  const floats = [];
  keys.forEach((k, i) => {
    [k.id, k.shift, k.keep, k.steps.length].forEach((v, j) => ints.setUint16(i * 8 + j * 2, v, true));
    floats.push(k.last, k.lastStep, ...k.steps, ...k.values);
  });
  const f = new DataView(new ArrayBuffer(floats.length * 8));
  floats.forEach((v, i) => f.setFloat64(i * 8, v, true));
  return [ints, f];
}

test('regroup keeps each bucket min and max in step order, one point on a tie', () => {
  const steps = [0, 1, 2, 3, 4, 5, 6, 7];
  const values = [3, 1, 1, 5, 2, 2, 9, 0];
  assert.deepEqual(regroup(steps, values, 0, 2), [[1, 3, 6, 7], [1, 5, 9, 0]]);
  assert.deepEqual(regroup([4, 5], [2, 2], 0, 1), [[4], [2]]);
  // steps past 2**31 (no 32-bit shifts)
  const big = 2 ** 40;
  assert.deepEqual(regroup([big, big + 1], [1, 2], big, 1), [[big, big + 1], [1, 2]]);
});

test('a patch keeps, appends, merges; the entry adds a NaN last value at the end', () => {
  const store = createStore();
  let r = applyPatch(store, { nbtrack: 'series', rev: 1, full: false, reset: [[0, 'loss', 10]] },
    pack([{ id: 0, shift: 0, keep: 0, steps: [10, 11, 12], values: [3, 2, 4], last: 4, lastStep: 12 }]));
  assert.deepEqual(r, { changed: ['loss'], gap: false });
  assert.deepEqual(store.entries.loss, { steps: [10, 11, 12], values: [3, 2, 4], min: 2, max: 4, last: 4 });
  // shift 1: buckets [10,11] [12,13]; keep the merged first bucket (2 points), append two
  r = applyPatch(store, { nbtrack: 'series', rev: 2, full: false, reset: [] },
    pack([{ id: 0, shift: 1, keep: 2, steps: [12, 13], values: [4, Infinity], last: NaN, lastStep: 14 }]));
  assert.equal(r.gap, false);
  const e = store.entries.loss;
  assert.deepEqual(e.steps, [10, 11, 12, 13, 14]);
  assert.deepEqual(e.values.slice(0, 4), [3, 2, 4, Infinity]);
  assert.ok(Number.isNaN(e.values[4]) && Number.isNaN(e.last));
  assert.equal(e.max, Infinity);
  assert.equal(e.min, 2);
});

test('a missed patch is a gap (nothing applied); a full patch starts over', () => {
  const store = createStore();
  const one = pack([{ id: 0, shift: 0, keep: 0, steps: [1], values: [1], last: 1, lastStep: 1 }]);
  applyPatch(store, { nbtrack: 'series', rev: 1, full: false, reset: [[0, 'a', 1]] }, one);
  const before = store.entries.a;
  const r = applyPatch(store, { nbtrack: 'series', rev: 3, full: false, reset: [] }, one);
  assert.equal(r.gap, true);
  assert.equal(store.entries.a, before);
  const full = pack([{ id: 0, shift: 0, keep: 0, steps: [1, 2], values: [1, 5], last: 5, lastStep: 2 }]);
  const s = applyState(store, { nbtrack: 'series', rev: 7, full: true, reset: [[0, 'b', 1]], ints: full[0], floats: full[1] });
  assert.equal(s.gap, false);
  assert.deepEqual(Object.keys(store.entries), ['b']);
  assert.equal(store.rev, 7);
  assert.deepEqual(entryOf(store.keys.get(0)).values, [1, 5]);
});

test('plain entries (the dev harness) merge by key', () => {
  const store = createStore();
  applyState(store, { a: { steps: [0, 1], values: [1, 'NaN'] }, b: { steps: [0], values: [2] } });
  applyState(store, { a: { steps: [0, 1, 2], values: [1, 2, 3] } });
  assert.deepEqual(Object.keys(store.entries).sort(), ['a', 'b']);
  assert.deepEqual(store.entries.a.values, [1, 2, 3]);
  applyState(store, { b: null });
  assert.deepEqual(Object.keys(store.entries), ['a']);
});

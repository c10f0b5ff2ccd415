import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  columnsToPoints, compareKeys, downsampleMinMax, envelopePath, finiteExtent, linePath,
  linearScale, mergeSeries, nearestIndex, niceTicks, normalizeEntry, planChart,
  sparklinePath, toggleSelected, visibleKeys, yDomain,
} from '../src/chart.js';

const range = (n) => Array.from({ length: n }, (_, i) => i);

test('linearScale maps and inverts', () => {
  const s = linearScale(0, 10, 100, 200);
  assert.equal(s(0), 100);
  assert.equal(s(5), 150);
  assert.equal(s(10), 200);
  assert.equal(s.invert(150), 5);
  const flipped = linearScale(0, 1, 50, 0); // y axis: larger values higher up
  assert.equal(flipped(1), 0);
  assert.equal(flipped(0), 50);
  assert.equal(flipped.invert(25), 0.5);
  // zero-width domain maps to the middle
  assert.equal(linearScale(3, 3, 0, 10)(3), 5);
});

test('finiteExtent and yDomain ignore NaN and infinities', () => {
  assert.deepEqual(finiteExtent([3, NaN, -1, Infinity, 2, -Infinity]), [-1, 3]);
  assert.ok(finiteExtent([NaN]).every(Number.isNaN));
  assert.deepEqual(yDomain([]), [0, 1]);
  const [lo, hi] = yDomain([0, 10]);
  assert.ok(lo < 0 && hi > 10);
  const [flo, fhi] = yDomain([5, 5]); // flat data gets room
  assert.ok(flo < 5 && fhi > 5);
  assert.deepEqual(yDomain([0, 0]), [-1, 1]);
});

test('niceTicks are round and inside the domain', () => {
  assert.deepEqual(niceTicks(0, 1, 4), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(-0.05, 1.05, 3), [0, 0.5, 1]);
  const t = niceTicks(0.0123, 0.0456, 3);
  assert.ok(t.length >= 2 && t.every((v) => v >= 0.0123 && v <= 0.0456));
  assert.deepEqual(niceTicks(2, 2), [2]);
  assert.deepEqual(niceTicks(NaN, 1), []);
  assert.deepEqual(niceTicks(10, 0, 2), [0, 5, 10]);
});

test('downsampling to pixel columns keeps a single one-step spike', () => {
  const n = 100000;
  const steps = range(n);
  const values = steps.map((i) => Math.sin(i / 1000) * 0.1);
  values[54321] = 42; // one-step spike
  values[77777] = -17; // one-step dip
  const ds = downsampleMinMax(steps, values, 300, [0, n - 1]);
  assert.ok(ds.columns.length <= 300);
  assert.ok(ds.dense);
  const maxCol = ds.columns.reduce((a, c) => (c.max > a.max ? c : a));
  assert.equal(maxCol.max, 42);
  assert.equal(maxCol.maxStep, 54321);
  const minCol = ds.columns.reduce((a, c) => (c.min < a.min ? c : a));
  assert.equal(minCol.min, -17);
  assert.equal(minCol.minStep, 77777);
  const pts = columnsToPoints(ds.columns);
  assert.ok(pts.length <= 4 * 300);
  assert.ok(pts.some(([s, v]) => s === 54321 && v === 42));
  assert.ok(pts.some(([s, v]) => s === 77777 && v === -17));
  // points stay in step order
  for (let i = 1; i < pts.length; i += 1) assert.ok(pts[i][0] >= pts[i - 1][0]);
  // the chart plan's envelope reaches the spike: its y is the top of the y domain area
  const plan = planChart({ steps, values }, 320, 100);
  assert.ok(plan.yDomain[1] >= 42 && plan.yDomain[0] <= -17);
  assert.ok(plan.pointsDrawn <= 320);
  assert.ok(plan.envelope.length > 0);
});

test('sparse data: every point is kept, one column per point', () => {
  const ds = downsampleMinMax([0, 10, 20], [1, 2, 3], 300, [0, 20]);
  assert.equal(ds.columns.length, 3);
  assert.equal(ds.dense, false);
  assert.deepEqual(columnsToPoints(ds.columns), [[0, 1], [10, 2], [20, 3]]);
  const plan = planChart({ steps: [0, 10, 20], values: [1, 2, 3] }, 300, 100);
  assert.equal(plan.pointsDrawn, 3);
  assert.equal(plan.envelope, '');
  assert.match(plan.line, /^M\S+ \S+L\S+ \S+L\S+ \S+$/);
});

test('NaN is skipped and ±inf is reported for edge markers', () => {
  const steps = [0, 1, 2, 3, 4];
  const values = [1, NaN, Infinity, -Infinity, 2];
  const ds = downsampleMinMax(steps, values, 100, [0, 4]);
  assert.deepEqual(ds.nan, [1]);
  assert.deepEqual(ds.posInf, [2]);
  assert.deepEqual(ds.negInf, [3]);
  assert.deepEqual(columnsToPoints(ds.columns), [[0, 1], [4, 2]]);
  const plan = planChart(normalizeEntry({ steps, values: [1, 'NaN', 'Infinity', '-Infinity', 2] }), 200, 100);
  assert.equal(plan.pointsDrawn, 2);
  assert.equal(plan.posInf.length, 1);
  assert.equal(plan.negInf.length, 1);
  assert.equal(plan.nanCount, 1);
  assert.ok(plan.yDomain.every(Number.isFinite));
});

test('planChart handles empty and single-point series', () => {
  const empty = planChart({ steps: [], values: [] }, 200, 100);
  assert.equal(empty.pointsDrawn, 0);
  assert.equal(empty.line, '');
  const one = planChart({ steps: [5], values: [0.5] }, 200, 100);
  assert.equal(one.pointsDrawn, 1);
  assert.ok(one.line.startsWith('M'));
});

test('path builders', () => {
  const xs = linearScale(0, 10, 0, 100);
  const ys = linearScale(0, 1, 50, 0);
  assert.equal(linePath([[0, 0], [5, 0.5], [10, 1]], xs, ys), 'M0 50L50 25L100 0');
  assert.equal(linePath([], xs, ys), '');
  const cols = [
    { firstStep: 0, lastStep: 0, min: 0, max: 1 },
    { firstStep: 10, lastStep: 10, min: 0.5, max: 0.5 },
  ];
  assert.equal(envelopePath(cols, xs, ys), 'M0 0L100 25L100 25L0 50Z');
  assert.equal(envelopePath([], xs, ys), '');
  const sp = sparklinePath([1, 2, NaN, 4, 3], 96, 22);
  assert.ok(sp.startsWith('M'));
  assert.equal(sparklinePath([], 96, 22), '');
});

test('nearestIndex finds the closest step', () => {
  const steps = [0, 10, 20, 40];
  assert.equal(nearestIndex(steps, -5), 0);
  assert.equal(nearestIndex(steps, 4), 0);
  assert.equal(nearestIndex(steps, 6), 1);
  assert.equal(nearestIndex(steps, 29), 2);
  assert.equal(nearestIndex(steps, 31), 3);
  assert.equal(nearestIndex(steps, 1000), 3);
  assert.equal(nearestIndex([], 3), -1);
});

test('normalizeEntry decodes values and sorts by step', () => {
  const e = normalizeEntry({ steps: [2, 0, 1], values: ['NaN', 1, 'Infinity'], min: 1, max: 'Infinity', last: 'NaN', count: 3 });
  assert.deepEqual(e.steps, [0, 1, 2]);
  assert.equal(e.values[0], 1);
  assert.equal(e.values[1], Infinity);
  assert.ok(Number.isNaN(e.values[2]));
  assert.equal(e.max, Infinity);
  assert.ok(Number.isNaN(e.last));
  assert.equal(e.count, 3);
  const bare = normalizeEntry({ steps: [0, 1], values: [3, 4] });
  assert.equal(bare.last, 4);
  assert.equal(bare.count, 2);
  assert.deepEqual(normalizeEntry(undefined).steps, []);
});

test('mergeSeries: a key absent from an update keeps its old data', () => {
  const a = mergeSeries({}, {
    loss: { steps: [0, 1], values: [1, 0.5], min: 0.5, max: 1, last: 0.5, count: 2 },
    acc: { steps: [0, 1], values: [0.1, 0.2], min: 0.1, max: 0.2, last: 0.2, count: 2 },
  });
  assert.deepEqual(Object.keys(a).sort(), ['acc', 'loss']);
  const b = mergeSeries(a, { loss: { steps: [0, 1, 2], values: [1, 0.5, 0.25], last: 0.25, count: 3 } });
  assert.deepEqual(b.loss.steps, [0, 1, 2]); // replaced wholesale
  assert.equal(b.loss.last, 0.25);
  assert.equal(b.acc, a.acc); // untouched key: same data
  assert.deepEqual(a.loss.steps, [0, 1]); // the old copy is not modified
  const c = mergeSeries(b, { lr: { steps: [2], values: [0.001] } });
  assert.deepEqual(Object.keys(c).sort(), ['acc', 'loss', 'lr']);
  const d = mergeSeries(c, { lr: null }); // null removes a key
  assert.deepEqual(Object.keys(d).sort(), ['acc', 'loss']);
  assert.deepEqual(mergeSeries(d, {}), d);
  assert.deepEqual(mergeSeries(d, undefined), d);
});

test('metric selection: [] means all, toggling back to all collapses to []', () => {
  const all = ['val/acc', 'loss', 'train/loss10', 'train/loss2'];
  assert.deepEqual(visibleKeys(all, []), ['loss', 'train/loss2', 'train/loss10', 'val/acc']);
  assert.deepEqual(visibleKeys(all, ['val/acc', 'gone', 'loss']), ['loss', 'val/acc']);
  let sel = toggleSelected([], all, 'loss');
  assert.deepEqual(sel, ['train/loss2', 'train/loss10', 'val/acc']);
  sel = toggleSelected(sel, all, 'loss');
  assert.deepEqual(sel, []);
  // the last visible chart cannot be hidden
  assert.deepEqual(toggleSelected(['loss'], all, 'loss'), ['loss']);
  assert.ok(compareKeys('a2', 'a10') < 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  chartData, columnsToPoints, compareKeys, downsampleMinMax, finiteExtent, nearestIndex,
  paddedRange, sparklinePath, withAlpha, xRange,
} from '../../src/shared/series.js';

const range = (n) => Array.from({ length: n }, (_, i) => i);

test('finiteExtent and paddedRange ignore NaN and infinities', () => {
  assert.deepEqual(finiteExtent([3, NaN, -1, Infinity, 2, -Infinity]), [-1, 3]);
  assert.ok(finiteExtent([NaN]).every(Number.isNaN));
  assert.deepEqual(paddedRange([]), [0, 1]);
  const [lo, hi] = paddedRange([0, 10]);
  assert.ok(lo < 0 && hi > 10);
  const [flo, fhi] = paddedRange([5, 5]); // flat data gets room
  assert.ok(flo < 5 && fhi > 5);
  assert.deepEqual(paddedRange([0, 0]), [-1, 1]);
});

test('xRange: first to last, one unit around a single step', () => {
  assert.deepEqual(xRange([]), [0, 1]);
  assert.deepEqual(xRange([5]), [4.5, 5.5]);
  assert.deepEqual(xRange([2, 9]), [2, 9]);
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
  for (let i = 1; i < pts.length; i += 1) assert.ok(pts[i][0] >= pts[i - 1][0]);
});

test('chartData: dense data draws column means with a min/max band holding the spike', () => {
  const n = 100000;
  const steps = range(n);
  const values = steps.map((i) => Math.sin(i / 1000) * 0.1);
  values[54321] = 42;
  values[77777] = -17;
  const plan = chartData(steps, values, 320);
  assert.ok(plan.dense);
  const [x, line, hi, lo] = plan.data;
  assert.equal(plan.points, x.length);
  assert.ok(x.length <= 320);
  assert.ok(line.length === x.length && hi.length === x.length && lo.length === x.length);
  assert.equal(Math.max(...hi), 42); // the band keeps the spike ...
  assert.equal(Math.min(...lo), -17);
  assert.ok(Math.max(...line) < 1); // ... the mean line does not
  assert.ok(plan.yRange[1] >= 42 && plan.yRange[0] <= -17);
  assert.deepEqual(plan.xRange, [0, n - 1]);
  for (let i = 1; i < x.length; i += 1) assert.ok(x[i] > x[i - 1], 'x ascending');
});

test('chartData: sparse data keeps every point and has no band', () => {
  const plan = chartData([0, 10, 20], [1, 2, 3], 300);
  assert.equal(plan.dense, false);
  assert.deepEqual(plan.data, [[0, 10, 20], [1, 2, 3], [null, null, null], [null, null, null]]);
  assert.equal(plan.points, 3);
});

test('chartData: NaN and ±inf are left out of the line and returned as marks', () => {
  const plan = chartData([0, 1, 2, 3, 4], [1, NaN, Infinity, -Infinity, 2], 200);
  assert.deepEqual(plan.data[0], [0, 4]);
  assert.deepEqual(plan.data[1], [1, 2]);
  assert.deepEqual(plan.marks, { nan: [1], posInf: [2], negInf: [3] });
  assert.ok(plan.yRange.every(Number.isFinite));
  const only = chartData([0, 1], [NaN, Infinity], 200); // nothing finite to draw
  assert.equal(only.points, 0);
  assert.deepEqual(only.yRange, [0, 1]);
});

test('chartData: empty and single-point series', () => {
  const empty = chartData([], [], 200);
  assert.equal(empty.points, 0);
  assert.deepEqual(empty.data, [[], [], [], []]);
  const one = chartData([5], [0.5], 200);
  assert.equal(one.points, 1);
  assert.deepEqual(one.xRange, [4.5, 5.5]);
});

test('sparkline path and colours', () => {
  const sp = sparklinePath([1, 2, NaN, 4, 3], 96, 22);
  assert.match(sp, /^M1 \S+(L\S+ \S+){3}$/);
  assert.equal(sparklinePath([], 96, 22), '');
  assert.equal(sparklinePath([5, 5], 10, 10), 'M1 5L9 5'); // flat: the middle
  assert.equal(withAlpha('#4e79a7', 0.2), 'rgba(78, 121, 167, 0.2)');
  assert.equal(withAlpha('#fff', 1), 'rgba(255, 255, 255, 1)');
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

test('compareKeys: natural order', () => {
  assert.ok(compareKeys('a2', 'a10') < 0);
  assert.deepEqual(['val/acc', 'train/loss10', 'train/loss2'].sort(compareKeys),
    ['train/loss2', 'train/loss10', 'val/acc']);
});

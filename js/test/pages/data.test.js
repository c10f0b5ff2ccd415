import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  alignSeries, configDiff, configKeys, ema, filterRuns, finitePart, flatConfig, interp, metricKeys,
  nearestValue, rowsToSeries, runtimeOf, sections, sortRuns, sortValue, summaryKeys, systemSeries,
  toCsv,
} from '../../src/pages/data.js';
import { COLORS } from '../../src/pages/palette.js';

test('history rows to series: wire strings decoded, non-numbers left out', () => {
  const rows = [
    { _step: 0, loss: 1, note: 'x' },
    { _step: 1, loss: 'NaN', acc: 0.5 },
    { _step: 2, loss: 'Infinity' },
    { loss: 9 }, // no step
  ];
  const s = rowsToSeries(rows);
  assert.deepEqual(Object.keys(s).sort(), ['acc', 'loss']);
  assert.deepEqual(s.loss.steps, [0, 1, 2]);
  assert.equal(s.loss.values[0], 1);
  assert.ok(Number.isNaN(s.loss.values[1]));
  assert.equal(s.loss.values[2], Infinity);
  assert.deepEqual(finitePart(s.loss), { steps: [0], values: [1], skipped: 2 });
});

test('interp maps steps to runtime and back, clamped at the ends', () => {
  assert.equal(interp([0, 10], [0, 5], 4), 2);
  assert.equal(interp([0, 10], [0, 5], -3), 0);
  assert.equal(interp([0, 10], [0, 5], 30), 5);
  assert.equal(interp([], [], 1), null);
});

test('runtime: the summary first, else the heartbeat', () => {
  assert.equal(runtimeOf({ summary: { _runtime: 12.5 } }), 12.5);
  assert.equal(runtimeOf({ created_at: '2025-01-01T00:00:00Z', heartbeat_at: '2025-01-01T00:01:00Z' }), 60);
  assert.equal(runtimeOf({ summary: { _runtime: 'NaN' } }), null);
});

const RUNS = [
  { name: 'a', id: '1', project: 'p', state: 'running', tags: ['big'], created_at: '2', summary: { loss: 0.5, acc: { last: 0.9, max: 0.95 }, s: 'Infinity', _runtime: 1 } },
  { name: 'b', id: '2', project: 'q', state: 'finished', created_at: '1', summary: { loss: 'NaN', note: 'hi' } },
  { name: 'c', id: '3', project: 'p', state: 'finished', created_at: '3', summary: { loss: 0.2, s: '-Infinity' } },
];

test('summary and metric keys', () => {
  assert.deepEqual(summaryKeys(RUNS), ['acc', 'loss', 'note', 's']);
  assert.deepEqual(metricKeys(RUNS[0].summary).sort(), ['acc', 'loss', 's']);
  assert.deepEqual(metricKeys(RUNS[1].summary), ['loss']);
});

test('table filters: project, state, text over name / id / tags', () => {
  assert.deepEqual(filterRuns(RUNS, { project: 'p' }).map((r) => r.name), ['a', 'c']);
  assert.deepEqual(filterRuns(RUNS, { state: 'finished' }).map((r) => r.name), ['b', 'c']);
  assert.deepEqual(filterRuns(RUNS, { text: ' BIG ' }).map((r) => r.name), ['a']);
  assert.equal(filterRuns(RUNS, {}).length, 3);
});

test('sorting: summary columns by their number, NaN and missing last', () => {
  assert.equal(sortValue(RUNS[0], 's:acc'), 0.9);
  assert.equal(sortValue(RUNS[1], 's:loss'), null); // NaN sorts with the missing
  assert.equal(sortValue(RUNS[1], 's:note'), 'hi');
  assert.equal(sortValue(RUNS[2], 's:none'), null);
  const names = (rows) => rows.map((r) => r.name);
  assert.deepEqual(names(sortRuns(RUNS, 's:loss', 'desc')), ['a', 'c', 'b']);
  assert.deepEqual(names(sortRuns(RUNS, 's:loss', 'asc')), ['c', 'a', 'b']);
  assert.deepEqual(names(sortRuns(RUNS, 's:s', 'desc')), ['a', 'c', 'b']); // +∞ first
  assert.deepEqual(names(sortRuns(RUNS, 'created', 'asc')), ['b', 'a', 'c']);
});

test('config columns: nested keys flattened, sorted by value; group and tags sort too', () => {
  const runs = [
    { name: 'a', config: { lr: 0.1, opt: { name: 'adam', betas: [0.9, 0.99] }, _wandb: { cli: 1 } }, tags: ['x', 'base'], group: 'g2' },
    { name: 'b', config: { lr: 0.01, opt: { name: 'sgd' }, amp: true }, tags: [], group: '' },
    { name: 'c', config: { lr: 1, opt: { name: 'adam' }, amp: false }, tags: ['base'], group: 'g1' },
  ];
  assert.deepEqual(flatConfig(runs[0].config), { lr: 0.1, 'opt.name': 'adam', 'opt.betas': [0.9, 0.99], '_wandb.cli': 1 });
  assert.deepEqual(configKeys(runs), ['amp', 'lr', 'opt.betas', 'opt.name']);
  const names = (rows) => rows.map((r) => r.name);
  assert.deepEqual(names(sortRuns(runs, 'c:lr', 'asc')), ['b', 'a', 'c']); // numbers as numbers
  assert.deepEqual(names(sortRuns(runs, 'c:opt.name', 'desc')), ['b', 'a', 'c']);
  assert.deepEqual(names(sortRuns(runs, 'c:amp', 'desc')), ['b', 'c', 'a']); // true, false, missing
  assert.deepEqual(names(sortRuns(runs, 'group', 'asc')), ['c', 'a', 'b']); // no group last
  assert.deepEqual(names(sortRuns(runs, 'tags', 'asc')), ['c', 'a', 'b']); // "base" < "base x"
});

test('compare: runs aligned on the union of their steps; config keys that differ', () => {
  assert.deepEqual(alignSeries([{ steps: [0, 2], values: [1, 3] }, { steps: [1, 2], values: [5, 6] }]),
    [[0, 1, 2], [1, null, 3], [null, 5, 6]]);
  const runs = [{ config: { lr: 0.1, x: 1, n: { a: 1 } } }, { config: { lr: 'NaN', x: 1, n: { a: 2 } } }, {}];
  assert.deepEqual(configDiff(runs), ['lr', 'n', 'x']);
  assert.deepEqual(configDiff([{ config: { a: 1 } }, { config: { a: 1 } }]), []);
});

test('system metrics by runtime, finite values only', () => {
  const rows = [
    { _runtime: 0, 'system.cpu': 10, 'system.gpu': 'NaN' },
    { _runtime: 1, 'system.cpu': 20 },
    { _timestamp: 5, 'system.cpu': 30 },
  ];
  assert.deepEqual(systemSeries(rows), { 'system.cpu': [[0, 1, 5], [10, 20, 30]] });
  assert.deepEqual(systemSeries(rows, 1), { 'system.cpu': [[5], [30]] });
});

test('ema: debiased like TensorBoard, 0 is the raw series, non-finite values kept in place', () => {
  assert.deepEqual(ema([1, 2, 3], 0), [1, 2, 3]);
  const out = ema([10, NaN, 20, Infinity], 0.5);
  assert.equal(out[0], 10); // debiased: the first point is the value itself
  assert.ok(Number.isNaN(out[1]));
  assert.equal(out[2], (0.5 * 0.5 * 10 + 0.5 * 20) / (1 - 0.25)); // 16.67: pulled toward 10
  assert.equal(out[3], Infinity);
  const flat = ema(new Array(50).fill(3), 0.9);
  assert.ok(flat.every((v) => Math.abs(v - 3) < 1e-12));
});

test('sections by prefix: plain keys first, then each prefix, sorted', () => {
  assert.deepEqual(sections(['val/loss', 'loss', 'grad/w', 'acc', 'grad/b', 'a/b/c']), [
    ['', ['acc', 'loss']], ['a', ['a/b/c']], ['grad', ['grad/b', 'grad/w']], ['val', ['val/loss']]]);
  assert.deepEqual(sections([]), []);
});

test('csv of a chart: header, then step,value rows; names with commas quoted', () => {
  assert.equal(toCsv('step', 'a,b', [0, 1], [0.5, 2]), 'step,"a,b"\n0,0.5\n1,2\n');
});

test('compare: the nearest point of a run to a hovered step; 20 colours before one repeats', () => {
  assert.equal(nearestValue([0, 10, 20], [1, 2, 3], 4), 1);
  assert.equal(nearestValue([0, 10, 20], [1, 2, 3], 6), 2);
  assert.equal(nearestValue([0, 10, 20], [1, 2, 3], 99), 3);
  assert.equal(nearestValue([], [], 1), null);
  assert.equal(new Set(COLORS.map((c) => c.toLowerCase())).size, 20);
});

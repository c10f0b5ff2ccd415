import { test } from 'node:test';
import assert from 'node:assert/strict';

import { chartData } from '../../src/shared/series.js';
import { pagesLink } from '../../src/widget/links.js';
import {
  footText, mergeSeries, normalizeEntry, toggleSelected, visibleKeys,
} from '../../src/widget/model.js';

test('normalizeEntry decodes values and sorts by step', () => {
  const e = normalizeEntry({ steps: [2, 0, 1], values: ['NaN', 1, 'Infinity'], min: 1, max: 'Infinity', last: 'NaN', count: 3 });
  assert.deepEqual(e.steps, [0, 1, 2]);
  assert.equal(e.values[0], 1);
  assert.equal(e.values[1], Infinity);
  assert.ok(Number.isNaN(e.values[2]));
  assert.equal(e.max, Infinity);
  assert.ok(Number.isNaN(e.last));
  assert.equal(e.count, 3);
  const bare = normalizeEntry({ steps: [0, 1, 'x'], values: [3, 4, 5] });
  assert.deepEqual(bare.steps, [0, 1]); // a step that is no number is dropped
  assert.equal(bare.last, 4);
  assert.equal(bare.count, 2);
  assert.ok(Number.isNaN(bare.min));
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
});

test('chart footer: step range, min / max and the NaN count', () => {
  const e = normalizeEntry({ steps: [0, 1, 2, 1200], values: [1, 'NaN', 3, 2], min: 1, max: 3 });
  assert.equal(footText(e, chartData(e.steps, e.values, 200)),
    'step 0 – 1,200  ·  min 1 · max 3  ·  1 NaN');
  const bare = normalizeEntry({ steps: [], values: [] });
  assert.equal(footText(bare, chartData([], [], 200)), '');
});

test('the run page link under the pages root', () => {
  const info = { entity: 'alice', project: 'vision', id: '3k9' };
  assert.equal(pagesLink('/user/bob/nbtrack/', info), '/user/bob/nbtrack/runs/alice/vision/3k9');
  assert.equal(pagesLink(null, info), null);
  assert.equal(pagesLink('/x/', { ...info, entity: '' }), null);
});

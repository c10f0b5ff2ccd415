import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  cellText, filePath, filterRows, heatStrip, imagesOf, mediaPath, pageOf, sortRows, stepIndex,
} from '../../src/shared/media.js';

test('media and file paths are encoded per part', () => {
  assert.equal(mediaPath('runs/e/p/r'), 'runs/e/p/r/media');
  assert.equal(mediaPath('runs/e/p/r', { key: 'val/img x', step: 3, cursor: null }),
    'runs/e/p/r/media?key=val%2Fimg%20x&step=3');
  assert.equal(filePath('runs/e/p/r', 'media/images/a b#1.png'), 'runs/e/p/r/files/media/images/a%20b%231.png');
});

test('the images of a value: one image, a gallery with captions, nothing else', () => {
  assert.deepEqual(imagesOf({ _type: 'image-file', path: 'media/images/a.png', caption: 'c' }),
    [{ path: 'media/images/a.png', caption: 'c' }]);
  assert.deepEqual(imagesOf({ _type: 'images/separated', filenames: ['a.png', 'b.png'], captions: ['x'] }),
    [{ path: 'a.png', caption: 'x' }, { path: 'b.png', caption: '' }]);
  assert.deepEqual(imagesOf({ _type: 'histogram', bins: [0, 1], values: [1] }), []);
  assert.deepEqual(imagesOf(null), []);
});

test('stepIndex: the newest step at or before', () => {
  const steps = [0, 10, 20];
  assert.deepEqual([-5, 0, 9, 10, 25].map((s) => stepIndex(steps, s)), [0, 0, 0, 1, 2]);
  assert.equal(stepIndex([], 3), -1);
});

test('heat strip: a column per step over the common range, bins spread by overlap', () => {
  const strip = heatStrip([
    { step: 0, value: { bins: [0, 1, 2], values: [4, 0] } },
    { step: 5, value: { bins: [2, 4], values: [3] } },
    { step: 9, value: { _type: 'image-file' } }, // not a histogram: left out
  ], 4);
  assert.deepEqual(strip.steps, [0, 5]);
  assert.equal(strip.lo, 0);
  assert.equal(strip.hi, 4);
  assert.deepEqual(strip.cells[0], [1, 0, 0, 0]);
  assert.deepEqual(strip.cells[1], [0, 0, 1, 1]);
  assert.deepEqual(heatStrip([]).cells, []);
});

test('table rows: filter by any cell, sort numbers as numbers, missing last, stable', () => {
  const data = [[1, 'b', 10], [2, 'a', 9], [3, 'c', null], [4, 'a', '100'],
    [5, { _type: 'image-file', path: 'x.png', caption: 'dog' }, 2]];
  assert.deepEqual(filterRows(data, 'A').map((r) => r[0]), [2, 4]);
  assert.deepEqual(filterRows(data, 'dog').map((r) => r[0]), [5]);
  assert.deepEqual(sortRows(data, 2, 'asc').map((r) => r[0]), [5, 2, 1, 4, 3]);
  assert.deepEqual(sortRows(data, 2, 'desc').map((r) => r[0]), [4, 1, 2, 5, 3]);
  assert.deepEqual(sortRows(data, 1, 'asc').map((r) => r[0]), [2, 4, 1, 3, 5]);
  assert.equal(cellText(null), '');
  assert.equal(cellText({ a: 1 }), '{"a":1}');
});

test('pages of rows, clamped', () => {
  const rows = Array.from({ length: 45 }, (_, i) => [i]);
  assert.deepEqual(pageOf(rows, 2, 20).rows.map((r) => r[0]), [40, 41, 42, 43, 44]);
  assert.equal(pageOf(rows, 9, 20).page, 2);
  assert.equal(pageOf([], 0, 20).pages, 1);
});

test('widget helpers: run base, the last page of steps, display order', async () => {
  const { runBase, lastPageCursor, mediaOrder } = await import('../../src/shared/media.js');
  assert.equal(runBase({ entity: 'e', project: 'p q', id: 'r/1' }), 'runs/e/p%20q/r%2F1');
  assert.equal(lastPageCursor(2500, 1000), '1500');
  assert.equal(lastPageCursor(10, 1000), '0');
  assert.deepEqual(mediaOrder({ t: { kind: 'table' }, h: { kind: 'histogram' }, b: { kind: 'image' },
    a: { kind: 'images' }, x: { kind: 'nope' } }), ['a', 'b', 'h', 't']);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  decodeNumber, formatBytes, formatDuration, formatNumber, formatRate, formatTick, formatTicks,
  formatValue,
  summaryScalar, toNumber,
} from '../../src/shared/format.js';

test('decodeNumber: numbers and the three wire strings, nothing else', () => {
  assert.ok(Number.isNaN(decodeNumber('NaN')));
  assert.equal(decodeNumber('Infinity'), Infinity);
  assert.equal(decodeNumber('-Infinity'), -Infinity);
  assert.equal(decodeNumber(2.5), 2.5);
  assert.ok(Number.isNaN(decodeNumber(NaN)));
  for (const v of ['3.25', 'inf', 'nan', '+Infinity', '', 'abc', null, undefined, true, {}, []]) {
    assert.equal(decodeNumber(v), null, String(v));
  }
  // toNumber: the same, booleans as 0 / 1, anything else NaN
  assert.equal(toNumber('-Infinity'), -Infinity);
  assert.equal(toNumber(true), 1);
  assert.equal(toNumber(false), 0);
  assert.ok(Number.isNaN(toNumber(null)));
  assert.ok(Number.isNaN(toNumber('3.25')));
  assert.ok(Number.isNaN(toNumber('')));
});

test('formatNumber: NaN and ±inf strings and numbers', () => {
  assert.equal(formatNumber('NaN'), 'NaN');
  assert.equal(formatNumber(NaN), 'NaN');
  assert.equal(formatNumber('Infinity'), '+∞');
  assert.equal(formatNumber(Infinity), '+∞');
  assert.equal(formatNumber('-Infinity'), '−∞');
  assert.equal(formatNumber(-Infinity), '−∞');
  assert.equal(formatNumber(null), '—');
  assert.equal(formatNumber(undefined), '—');
});

test('formatNumber: integers, decimals, tiny and huge values', () => {
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(42), '42');
  assert.equal(formatNumber(1234567), '1,234,567');
  assert.equal(formatNumber(0.123456), '0.1235');
  assert.equal(formatNumber(0.5), '0.5');
  assert.equal(formatNumber(-2.5), '-2.5');
  assert.equal(formatNumber(1234.5678), '1,235');
  assert.equal(formatNumber(0.000123), '1.23e-4');
  assert.equal(formatNumber(123456789.5), '1.23e+8');
  assert.equal(formatNumber(0.1234567, 6), '0.123457');
  assert.equal(formatNumber('0.25'), '0.25'); // strings come back as they are
  assert.equal(formatNumber('hello'), 'hello');
  assert.equal(formatNumber(true), '1');
});

test('formatTick uses SI suffixes and short decimals', () => {
  assert.equal(formatTick(0), '0');
  assert.equal(formatTick(1500), '1.5k');
  assert.equal(formatTick(2000000), '2M');
  assert.equal(formatTick(0.25), '0.25');
  assert.equal(formatTick(0.123456), '0.123');
  assert.equal(formatTick(0.0002), '2e-4');
  assert.equal(formatTick('Infinity'), '+∞');
});

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0.0s');
  assert.equal(formatDuration(4.24), '4.2s');
  assert.equal(formatDuration(42.9), '42s');
  assert.equal(formatDuration(65), '1m 05s');
  assert.equal(formatDuration(7380), '2h 03m');
  assert.equal(formatDuration(3 * 86400 + 4 * 3600), '3d 04h');
  assert.equal(formatDuration(-1), '—');
  assert.equal(formatDuration('NaN'), '—');
  assert.equal(formatDuration(undefined), '—');
});

test('formatRate and formatBytes', () => {
  assert.equal(formatRate(0), '0/s');
  assert.equal(formatRate(0.5), '0.50/s');
  assert.equal(formatRate(12.34), '12.3/s');
  assert.equal(formatRate(456.7), '457/s');
  assert.equal(formatRate(4567), '4.57k/s');
  assert.equal(formatRate(undefined), '—/s');
  assert.equal(formatRate(3, ''), '3.00');
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(20 * 1024 * 1024), '20.0 MiB');
  assert.equal(formatBytes(-3), '—');
});

test('formatValue: scalars, strings, lists, aggregates and objects', () => {
  assert.equal(formatValue(0.25), '0.25');
  assert.equal(formatValue(0.123456789, 6), '0.123457');
  assert.equal(formatValue('NaN'), 'NaN');
  assert.equal(formatValue('Infinity'), '+∞');
  assert.equal(formatValue('-Infinity'), '−∞');
  assert.equal(formatValue('resnet'), 'resnet');
  assert.equal(formatValue('1e-3'), '1e-3'); // a string stays the string that was logged
  assert.equal(formatValue(true), 'true');
  assert.equal(formatValue(null), '—');
  assert.equal(formatValue(undefined), '—');
  assert.equal(formatValue([1, 2, 3]), '[1, 2, 3]');
  assert.equal(formatValue(['Infinity', 1]), '[+∞, 1]');
  assert.equal(formatValue(Array.from({ length: 12 }, (_, i) => i)), '[12 items]');
  assert.equal(formatValue({ max: 3, min: 0.1, last: 0.2 }), 'last 0.2 · min 0.1 · max 3');
  assert.equal(formatValue({ min: '-Infinity', max: 'Infinity' }), 'min −∞ · max +∞');
  assert.equal(formatValue({ x: 'NaN', y: ['Infinity', 1] }), '{x: NaN, y: [+∞, 1]}');
  assert.equal(formatValue({}), '{}');
});

test('summaryScalar: the number a summary entry stands for', () => {
  assert.equal(summaryScalar({ min: 0.1, last: 0.2 }), 0.2);
  assert.equal(summaryScalar({ best: 0.7 }), 0.7);
  assert.equal(summaryScalar({ min: 0.1 }), null);
  assert.equal(summaryScalar(4), 4);
  assert.equal(summaryScalar(true), 1);
  assert.equal(summaryScalar('-Infinity'), -Infinity);
  assert.ok(Number.isNaN(summaryScalar({ last: 'NaN' })));
  assert.equal(summaryScalar('resnet'), null);
  assert.equal(summaryScalar([1, 2]), null);
});

test('formatTicks: enough digits that no two ticks read the same', () => {
  assert.deepEqual(formatTicks([0, 0.5, 1]), ['0', '0.5', '1']);
  assert.deepEqual(formatTicks([1500, 2000]), ['1.5k', '2k']);
  assert.deepEqual(formatTicks([1.601e-4, 1.602e-4, 1.603e-4]), ['1.601e-4', '1.602e-4', '1.603e-4']);
  assert.deepEqual(formatTicks([0.1234, 0.1235, 0.1236]), ['0.1234', '0.1235', '0.1236']);
  assert.deepEqual(formatTicks([1000.5, 1001, 1001.5]), ['1000.5', '1001', '1001.5']);
});

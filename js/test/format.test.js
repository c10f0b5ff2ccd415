import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  STATES, badgeInfo, formatBytes, formatDuration, formatNumber, formatRate, formatSummaryValue,
  formatTick, progressInfo, summaryScalar, toNumber,
} from '../src/format.js';

test('toNumber decodes the wire strings for non-finite floats', () => {
  assert.ok(Number.isNaN(toNumber('NaN')));
  assert.equal(toNumber('Infinity'), Infinity);
  assert.equal(toNumber('-Infinity'), -Infinity);
  assert.equal(toNumber(2.5), 2.5);
  assert.equal(toNumber('3.25'), 3.25);
  assert.equal(toNumber(true), 1);
  assert.ok(Number.isNaN(toNumber(null)));
  assert.ok(Number.isNaN(toNumber('abc')));
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
  assert.equal(formatNumber('0.25'), '0.25');
  assert.equal(formatNumber('hello'), 'hello');
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

test('badge text and tone for every state', () => {
  const expected = {
    running: ['running', 'active'],
    retrying: ['retrying', 'warn'],
    offline: ['offline', 'muted'],
    finishing: ['finishing', 'active'],
    finished: ['finished', 'good'],
    failed: ['failed', 'bad'],
    crashed: ['crashed', 'bad'],
    detached: ['detached', 'warn'],
  };
  assert.deepEqual([...STATES].sort(), Object.keys(expected).sort());
  for (const s of STATES) {
    const b = badgeInfo(s, {});
    assert.equal(b.state, s);
    assert.equal(b.text, expected[s][0], s);
    assert.equal(b.tone, expected[s][1], s);
    assert.ok(b.title.length > 0);
  }
});

test('retrying badge shows the HTTP status and the retry count', () => {
  const b = badgeInfo('retrying', { state: 'retrying', status_code: 503, retry_count: 3, error: 'Service Unavailable' });
  assert.equal(b.text, 'retrying · HTTP 503 · retry 3');
  assert.match(b.title, /Service Unavailable/);
  // a connection error has no status code
  assert.equal(badgeInfo('retrying', { status_code: 0, retry_count: 2 }).text, 'retrying · retry 2');
  assert.equal(badgeInfo('retrying', null).text, 'retrying');
});

test('badge for a missing or unknown state', () => {
  assert.equal(badgeInfo(undefined).state, 'running');
  assert.equal(badgeInfo('').text, 'running');
  const b = badgeInfo('paused');
  assert.equal(b.text, 'paused');
  assert.equal(b.tone, 'muted');
});

test('progress fraction from bytes, files and done', () => {
  assert.equal(progressInfo({}).fraction, 0);
  assert.equal(progressInfo(null).done, false);
  const half = progressInfo({ uploaded_bytes: 512, total_bytes: 1024, uploaded_files: 1, total_files: 2, pending_lines: 0, done: false });
  assert.equal(half.fraction, 0.5);
  assert.equal(half.done, false);
  assert.equal(half.label, '512 B / 1.0 KiB · 1/2 files');
  // no bytes to upload: the file count decides
  assert.equal(progressInfo({ uploaded_bytes: 0, total_bytes: 0, uploaded_files: 1, total_files: 4 }).fraction, 0.25);
  // everything uploaded but not done yet (final post pending): not a full bar
  const almost = progressInfo({ uploaded_bytes: 10, total_bytes: 10, pending_lines: 7, done: false });
  assert.ok(almost.fraction < 1 && almost.fraction > 0.9);
  assert.match(almost.label, /7 lines pending/);
  // done forces a full bar, even with nothing to upload
  const done = progressInfo({ uploaded_bytes: 0, total_bytes: 0, done: true });
  assert.equal(done.fraction, 1);
  assert.equal(done.done, true);
  // never above 1
  assert.equal(progressInfo({ uploaded_bytes: 20, total_bytes: 10, done: true }).fraction, 1);
  assert.ok(progressInfo({ uploaded_bytes: 20, total_bytes: 10 }).fraction <= 1);
});

test('summary values: scalars, strings and aggregate dicts', () => {
  assert.equal(formatSummaryValue(0.25), '0.25');
  assert.equal(formatSummaryValue('NaN'), 'NaN');
  assert.equal(formatSummaryValue('Infinity'), '+∞');
  assert.equal(formatSummaryValue('resnet'), 'resnet');
  assert.equal(formatSummaryValue(true), 'true');
  assert.equal(formatSummaryValue(null), '—');
  assert.equal(formatSummaryValue([1, 2, 3]), '[3 items]');
  assert.equal(formatSummaryValue({ max: 3, min: 0.1, last: 0.2 }), 'last 0.2 · min 0.1 · max 3');
  assert.equal(summaryScalar({ min: 0.1, last: 0.2 }), 0.2);
  assert.equal(summaryScalar({ best: 0.7 }), 0.7);
  assert.equal(summaryScalar(4), 4);
  assert.equal(summaryScalar('-Infinity'), -Infinity);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  STATES, badgeInfo, networkText, progressInfo, speedText,
} from '../../src/widget/status.js';

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

test('network line: only while there is trouble', () => {
  assert.equal(networkText({ state: 'ok' }, 'running', 100), null);
  assert.equal(networkText(null, 'finished', 100), null);
  const t = networkText({ state: 'retrying', status_code: 503, retry_count: 1, since: 88, pending_bytes: 2048, error: 'busy' }, 'retrying', 100);
  assert.equal(t, 'Connection trouble — retrying · HTTP 503 · 1 retry · since 12s · 2.0 KiB pending — busy');
  assert.equal(networkText({ state: 'failed', retry_count: 4 }, 'running', 0), 'Upload failed · 4 retries');
  assert.equal(networkText({}, 'retrying', 0), 'Connection trouble — retrying');
});

test('speed: the live rate, the average once the run is over', () => {
  assert.equal(speedText({ step: 99, steps_per_sec: 48.7, elapsed: 10 }, 'running'), '48.7 steps/s');
  assert.equal(speedText({ step: 99, steps_per_sec: 0, elapsed: 10 }, 'finished'), '10.0 steps/s');
  assert.equal(speedText({}, 'running'), '— steps/s');
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

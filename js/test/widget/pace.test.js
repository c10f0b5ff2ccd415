import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createPacer, createVisibility } from '../../src/widget/pace.js';

test('the pacer spaces passes by what the last one took; urgent ones go at once', async () => {
  let t = 1000;
  let late = 0;
  const pacer = createPacer(0.05, () => { late += 1; }, 5, () => t);
  assert.equal(pacer.ready(false, true), true);
  pacer.ran(10); // 10 ms at 5 %: the next pass not before 190 ms from now
  t += 100;
  assert.equal(pacer.ready(false, true), false);
  assert.equal(pacer.ready(true, true), true);
  pacer.ran(10);
  t += 189;
  assert.equal(pacer.ready(false, true), false);
  await new Promise((done) => setTimeout(done, 30)); // due in 1 ms + 5 ms late
  assert.equal(late, 1);
  t += 1;
  assert.equal(pacer.ready(false, true), true);
  pacer.stop();
});

test('without IntersectionObserver everything counts as on screen', () => {
  const v = createVisibility(() => {});
  assert.equal(v.has({}), true);
  v.disconnect();
});

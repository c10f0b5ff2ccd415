import { test } from 'node:test';
import assert from 'node:assert/strict';

import { systemLabel, systemTitle } from '../../src/shared/system.js';

test('system metrics: friendly names and units, GPUs by index, unknown keys as they are', () => {
  assert.deepEqual(systemLabel('system.proc.memory.rssMB'), { name: 'process memory (RSS)', unit: 'MB' });
  assert.equal(systemTitle('system.cpu'), 'CPU · %');
  assert.equal(systemTitle('system.gpu.1.temp'), 'GPU 1 temperature · °C');
  assert.equal(systemTitle('system.proc.cpu.threads'), 'process threads');
  assert.equal(systemTitle('system.gpu.0.fancy'), 'system.gpu.0.fancy');
  assert.equal(systemTitle('custom'), 'custom');
});

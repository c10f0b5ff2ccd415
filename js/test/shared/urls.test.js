import { test } from 'node:test';
import assert from 'node:assert/strict';

import { encodePath, runHref, runPath } from '../../src/shared/urls.js';

test('run paths and run page links', () => {
  const run = { entity: 'alice', project: 'a b', id: 'x/1' };
  assert.equal(runPath(run), 'alice/a b/x/1');
  assert.equal(encodePath('alice/a b/c?d'), 'alice/a%20b/c%3Fd');
  // each part is encoded on its own: a slash inside a part stays inside it
  assert.equal(runHref('/user/bob/nbtrack/', run), '/user/bob/nbtrack/runs/alice/a%20b/x%2F1');
  assert.equal(runHref('/pages/', { entity: 'e', project: 'runs', id: '1' }), '/pages/runs/e/runs/1');
});

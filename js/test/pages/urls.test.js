import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  apiUrl, compareHref, historyPath, runApiPath, runFromLocation,
} from '../../src/pages/urls.js';

test('read API URLs under the pages root', () => {
  assert.equal(apiUrl('/user/bob/nbtrack/', 'runs'), '/user/bob/nbtrack/api/runs');
  assert.equal(runApiPath('alice/my proj/abc'), 'runs/alice/my%20proj/abc');
});

test('history queries: keys, samples, zoom', () => {
  const base = 'runs/a/b/c';
  assert.equal(historyPath(base), 'runs/a/b/c/history?samples=1000');
  assert.equal(historyPath(base, { keys: ['loss', 'a/b c'], samples: 50 }),
    'runs/a/b/c/history?samples=50&keys=loss,a%2Fb%20c');
  assert.equal(historyPath(base, { zoom: [10, 20] }),
    'runs/a/b/c/history?samples=1000&min_step=10&max_step=20');
});

test('compare link', () => {
  assert.equal(compareHref('/pages/', ['a/b/1', 'a/b c/2']), '/pages/compare?runs=a%2Fb%2F1,a%2Fb%20c%2F2');
});

test('the run of a run page URL, a project called "runs" included', () => {
  assert.deepEqual(runFromLocation('/user/bob/nbtrack/', '/user/bob/nbtrack/runs/alice/runs/x%201'),
    { entity: 'alice', project: 'runs', id: 'x 1' });
  assert.deepEqual(runFromLocation('/pages/', '/pages/runs/e/p/id/'), { entity: 'e', project: 'p', id: 'id' });
  // a root that does not prefix the path (a proxy rewrote it): from "/runs/" on
  assert.deepEqual(runFromLocation('./', '/proxy/runs/e/p/id'), { entity: 'e', project: 'p', id: 'id' });
});

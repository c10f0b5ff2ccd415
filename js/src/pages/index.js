// nbtrack run pages: runs table, run page, compare view (bundled by js/build.mjs).
// The shell (kernel/nbtrack/pages/shell.py) names the view in <body data-view>.

import { compareView } from './compare.js';
import { main, showError } from './page.js';
import { runView } from './run.js';
import { runsView } from './runs.js';

const views = { runs: runsView, run: runView, compare: compareView };
const view = views[document.body.dataset.view];
if (view) {
  view().catch((e) => {
    main.querySelector('.nbt-loading')?.remove();
    showError(e);
  });
}

// The widget's "open" link: the run page through Jupyter when nbtrack's server extension
// answers under the page's own base URL (right behind a hub); otherwise info.url (the
// tracking server's copy of the pages). One probe per page load.

import { runHref } from '../shared/urls.js';

/** The run page under `root` (a pages root such as "<base_url>nbtrack/"), or null. */
export function pagesLink(root, info) {
  if (!root || !info.entity || !info.project || !info.id) return null;
  return runHref(root, info);
}

/** Jupyter's base URL, with a trailing slash, from the page config (Lab, Notebook 7). */
export function jupyterBaseUrl(doc) {
  let base = null;
  try {
    const cfg = doc.getElementById('jupyter-config-data');
    base = cfg ? JSON.parse(cfg.textContent).baseUrl : null;
  } catch (e) {
    base = null;
  }
  base = base || (doc.body && doc.body.dataset.baseUrl) || null;
  return base ? (base.endsWith('/') ? base : `${base}/`) : null;
}

let PROBE = null;

/** Resolves to "<base_url>nbtrack/" when the extension answers there, else null. */
export function probePages() {
  if (PROBE) return PROBE;
  const base = jupyterBaseUrl(document);
  PROBE = !base || typeof fetch !== 'function' ? Promise.resolve(null)
    : fetch(`${base}nbtrack/ping`, { credentials: 'same-origin' })
      .then((r) => (r.ok ? `${base}nbtrack/` : null)).catch(() => null);
  return PROBE;
}

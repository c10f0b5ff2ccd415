// URL building of the run pages (pure). Every URL starts from the pages root, read from
// <body data-root>: "<base_url>nbtrack/" in Jupyter, "/pages/" on the tracking server.

import { encodePath } from '../shared/urls.js';

/** The read API's URL for `path` ("runs", "runs/e/p/id/history?…"). */
export function apiUrl(root, path) {
  return `${root}api/${path}`;
}

/** The read API path of a run ("runs/e/p/id", each part encoded) from "e/p/id". */
export function runApiPath(path) {
  return `runs/${encodePath(path)}`;
}

/** A run's history query: `keys` (explicit keys take the server's fast path), `samples`,
 * `zoom` = [min_step, max_step] or null. */
export function historyPath(base, { keys = [], samples = 1000, zoom = null } = {}) {
  let q = `${base}/history?samples=${samples}`;
  if (keys.length) q += `&keys=${keys.map(encodeURIComponent).join(',')}`;
  if (zoom) q += `&min_step=${zoom[0]}&max_step=${zoom[1]}`;
  return q;
}

/** The compare view of runs given as "e/p/id" paths. */
export function compareHref(root, paths) {
  return `${root}compare?runs=${paths.map(encodeURIComponent).join(',')}`;
}

/** {entity, project, id} of the run page at `pathname` ("<root>runs/<e>/<p>/<id>", each
 * part percent-encoded: a project may be called "runs"). */
export function runFromLocation(root, pathname) {
  const rel = pathname.startsWith(root) ? pathname.slice(root.length)
    : pathname.slice(pathname.indexOf('/runs/') + 1);
  const [entity, project, id] = rel.replace(/^runs\//, '').replace(/\/$/, '').split('/')
    .map(decodeURIComponent);
  return { entity, project, id };
}

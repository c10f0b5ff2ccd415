// What every view of the run pages shares: the page's root and main parts, the read API,
// error boxes, state badges, chart sizes and the test hook window.nbtrackPages.

import { el } from '../shared/dom.js';
import { apiUrl } from './urls.js';

export const root = document.body.dataset.root || './';
export const main = document.getElementById('nbt-main');
export const crumbs = document.getElementById('nbt-crumbs');
export const SAMPLES = 1000;
export { COLORS } from './palette.js';

// Read by the browser tests: what each chart was given, and whether the view is drawn.
export const hook = { charts: {}, ready: false };
window.nbtrackPages = hook;

/** GET <root>api/<path> as JSON; an error answer throws its message (and hint). */
export async function api(path) {
  const resp = await fetch(apiUrl(root, path), { credentials: 'same-origin' });
  let body = null;
  try {
    body = await resp.json();
  } catch (e) {
    body = null;
  }
  if (!resp.ok) {
    const msg = (body && (body.error + (body.hint ? ` — ${body.hint}` : ''))) || resp.statusText;
    throw new Error(msg);
  }
  return body;
}

export function showError(err, where) {
  const box = el('div', { class: 'nbt-error', role: 'alert', text: String(err.message || err) });
  (where || main).prepend(box);
}

export const badge = (state) => el('span', { class: 'nbt-badge', 'data-state': state, text: state });

/** A uPlot setSelect hook: a drag across the plot calls `zoom(a, b)` with the x values it
 * spans (a < b), then clears the selection; a click (under 4 px) does nothing. */
export function onDragX(zoom) {
  return (u) => {
    if (u.select.width < 4) return;
    const a = u.posToVal(u.select.left, 'x');
    const b = u.posToVal(u.select.left + u.select.width, 'x');
    u.setSelect({ left: 0, width: 0 }, false);
    zoom(a, b);
  };
}

/** A chart's width in its box. */
export function chartWidth(box) {
  return Math.max(300, Math.floor(box.getBoundingClientRect().width) - 14);
}

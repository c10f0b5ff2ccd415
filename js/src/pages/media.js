// The run page's media section: per key a step slider over the steps that hold a value,
// images with captions (galleries in a grid), tables in a viewer (filter, sort by column,
// pages, image cells as thumbnails), histograms as a distribution-over-steps heat strip.
// Files come by URL from the read API (never inlined); the compare view reuses `mediaValue`.

import { el, setText } from '../shared/dom.js';
import { formatNumber } from '../shared/format.js';
import {
  MAX_TABLE_ROWS, cellText, filePath, filterRows, heatStrip, imagesOf, mediaPath, pageOf, sortRows,
} from '../shared/media.js';
import { api, hook, root } from './page.js';
import { apiUrl } from './urls.js';

const PAGE_ROWS = 20;
const MAX_STEPS = 100000; // a slider's positions (pages of the server's steps)
const HEAT_SAMPLES = 200;

const fileUrl = (base, path) => apiUrl(root, filePath(base, path));

/** Every step holding a value of `key` (paged from the server, up to MAX_STEPS). */
async function stepsOf(base, key) {
  const out = [];
  let cursor = null;
  do {
    const page = await api(mediaPath(base, { key, limit: 10000, cursor }));
    out.push(...page.steps);
    cursor = page.next_cursor;
  } while (cursor && out.length < MAX_STEPS);
  return out;
}

/** The images of a value as figures (a gallery is a grid). */
function imageFigures(base, value) {
  return imagesOf(value).map((im) => el('figure', { class: 'nbt-media-fig' },
    el('img', { class: 'nbt-media-img', src: fileUrl(base, im.path), alt: im.caption || im.path, loading: 'lazy' }),
    im.caption ? el('figcaption', { text: im.caption }) : null));
}

/** A table viewer of a W&B table JSON ({columns, data}). */
export function tableViewer(base, table) {
  const columns = Array.isArray(table.columns) ? table.columns.map(String) : [];
  const all = (Array.isArray(table.data) ? table.data : []).slice(0, MAX_TABLE_ROWS);
  const st = { text: '', col: -1, dir: 'asc', page: 0 };
  const filter = el('input', { type: 'search', class: 'nbt-table-filter', placeholder: 'filter rows', 'aria-label': 'filter rows' });
  const info = el('span', { class: 'nbt-table-info' });
  const prev = el('button', { type: 'button', class: 'nbt-prev', text: '‹ prev' });
  const next = el('button', { type: 'button', class: 'nbt-next', text: 'next ›' });
  const grid = el('table', { class: 'nbt-table nbt-media-table' });
  const box = el('div', { class: 'nbt-table-viewer' },
    el('div', { class: 'nbt-controls' }, filter, prev, next, info), el('div', { class: 'nbt-table-scroll' }, grid));
  const cell = (v) => {
    if (v && typeof v === 'object' && v._type === 'image-file' && typeof v.path === 'string') {
      return el('td', { class: 'nbt-cell-img' }, el('img', { class: 'nbt-thumb', src: fileUrl(base, v.path), alt: v.caption || '', loading: 'lazy' }));
    }
    return el('td', { class: typeof v === 'number' ? 'num' : null, text: typeof v === 'number' ? formatNumber(v, 6) : cellText(v) });
  };
  function draw() {
    let rows = filterRows(all, st.text);
    if (st.col >= 0) rows = sortRows(rows, st.col, st.dir);
    const { rows: shown, page, pages } = pageOf(rows, st.page, PAGE_ROWS);
    st.page = page;
    grid.replaceChildren(
      el('tr', {}, ...columns.map((c, i) => el('th', {
        'data-sort': String(i), 'data-dir': st.col === i ? st.dir : null, text: c,
        onclick: () => { st.dir = st.col === i && st.dir === 'asc' ? 'desc' : 'asc'; st.col = i; st.page = 0; draw(); },
      }))),
      ...shown.map((r) => el('tr', { class: 'nbt-row' }, ...columns.map((_, i) => cell(r[i])))));
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
    setText(info, `${rows.length} of ${all.length} rows · page ${page + 1} / ${pages}`
      + (table.data && table.data.length > MAX_TABLE_ROWS ? ` (first ${MAX_TABLE_ROWS} of ${table.data.length})` : ''));
  }
  filter.addEventListener('input', () => { st.text = filter.value; st.page = 0; draw(); });
  prev.addEventListener('click', () => { st.page -= 1; draw(); });
  next.addEventListener('click', () => { st.page += 1; draw(); });
  draw();
  return box;
}

/** A canvas heat strip of histogram values over steps. */
export function heatCanvas(items, { width = 520, height = 160 } = {}) {
  const strip = heatStrip(items);
  const canvas = el('canvas', { class: 'nbt-heat', width, height, 'data-steps': strip.steps.join(',') });
  const ctx = canvas.getContext && canvas.getContext('2d');
  if (ctx && strip.steps.length) {
    const n = strip.steps.length;
    const cw = width / n;
    const rh = height / strip.rows;
    strip.cells.forEach((col, x) => col.forEach((v, r) => {
      if (v <= 0) return;
      ctx.fillStyle = `rgba(9, 105, 218, ${0.08 + 0.92 * v})`;
      ctx.fillRect(Math.floor(x * cw), Math.floor(height - (r + 1) * rh), Math.ceil(cw), Math.ceil(rh));
    }));
  }
  const axis = strip.steps.length ? `values ${formatNumber(strip.lo)} … ${formatNumber(strip.hi)} · steps ${formatNumber(strip.steps[0])} – ${formatNumber(strip.steps[strip.steps.length - 1])}` : 'no histogram values';
  return el('div', { class: 'nbt-heat-box' }, canvas, el('div', { class: 'nbt-heat-axis', text: axis }));
}

/** What a media value shows at one step (images, a table viewer, one histogram, a link). */
export async function mediaValue(base, kind, value) {
  if (!value) return el('p', { class: 'nbt-empty', text: 'no value' });
  if (kind === 'image' || kind === 'images') {
    return el('div', { class: kind === 'images' ? 'nbt-gallery' : 'nbt-media-one' }, ...imageFigures(base, value));
  }
  if (kind === 'table' && typeof value.path === 'string') {
    const table = await api(filePath(base, value.path));
    return tableViewer(base, table);
  }
  if (kind === 'histogram') return heatCanvas([{ step: 0, value }], { width: 260, height: 90 });
  if (typeof value.path === 'string') {
    return el('a', { href: fileUrl(base, value.path), download: value.path.split('/').pop(), text: value.path });
  }
  return el('p', { class: 'nbt-empty', text: value._type || 'unknown value' });
}

/** One media key's box: the slider over its steps and what the chosen step holds. */
async function keyBox(base, entry) {
  const box = el('div', { class: `nbt-chart nbt-media nbt-media-${entry.kind}`, 'data-key': entry.key, 'data-kind': entry.kind },
    el('h3', { text: entry.key }));
  const state = (hook.media[entry.key] = { kind: entry.kind, step: null, steps: [] });
  if (entry.kind === 'histogram') {
    const data = await api(mediaPath(base, { key: entry.key, samples: HEAT_SAMPLES }));
    box.append(heatCanvas(data.values));
    state.step = entry.last_step;
    state.steps = data.values.map((v) => v.step);
    box.dataset.step = String(entry.last_step);
    return box;
  }
  const steps = await stepsOf(base, entry.key);
  const slider = el('input', { type: 'range', class: 'nbt-step-slider', min: 0, max: Math.max(0, steps.length - 1),
    value: Math.max(0, steps.length - 1), 'aria-label': `step of ${entry.key}` });
  const label = el('span', { class: 'nbt-step-label' });
  const body = el('div', { class: 'nbt-media-body' });
  box.append(el('div', { class: 'nbt-controls' }, slider, label), body);
  state.steps = steps;
  let asked = 0;
  async function show(i) {
    const step = steps[i];
    const ticket = (asked += 1);
    setText(label, `step ${formatNumber(step)} (${i + 1} of ${steps.length})`);
    const got = await api(mediaPath(base, { key: entry.key, step }));
    const node = await mediaValue(base, entry.kind, got.value);
    if (ticket !== asked) return; // a newer move of the slider won
    body.replaceChildren(node);
    box.dataset.step = String(got.step);
    state.step = got.step;
    state.srcs = [...body.querySelectorAll('img.nbt-media-img')].map((im) => im.getAttribute('src'));
  }
  slider.addEventListener('input', () => { show(Number(slider.value)).catch(() => {}); });
  if (steps.length) await show(steps.length - 1);
  return box;
}

/** The media section of a run (its read API path `base`) into `section`. */
export async function loadMedia(base, section) {
  hook.media = hook.media || {};
  const { keys } = await api(mediaPath(base));
  if (!keys.length) { section.replaceChildren(el('p', { class: 'nbt-empty', text: 'no media logged' })); return; }
  const boxes = await Promise.all(keys.map((k) => keyBox(base, k).catch((e) =>
    el('div', { class: 'nbt-chart nbt-error', 'data-key': k.key, text: `${k.key}: ${e.message || e}` }))));
  section.replaceChildren(...boxes);
  section.dataset.ready = '1';
}

// The widget's media section: the newest image of each image key as a thumbnail row (click
// to enlarge) with a step slider that fetches older steps from the tracking server through
// Jupyter (<base_url>nbtrack/api/…, the pages' read API), histograms as a heat strip over
// steps, a compact preview of the newest table. The kernel sends only the newest value's
// path and sizes (the `media` trait); every file is loaded by URL, never through the comm.

import { el, setText } from '../shared/dom.js';
import { formatNumber } from '../shared/format.js';
import {
  cellText, filePath, heatStrip, imagesOf, lastPageCursor, mediaOrder, mediaPath, runBase,
} from '../shared/media.js';

const SLIDER_STEPS = 1000; // the slider spans the newest 1,000 steps of a key
const HEAT_SAMPLES = 60;
const REFRESH_MS = 2000; // at most one server read per key this often while values change
const PREVIEW_ROWS = 5;
const PREVIEW_COLS = 6;

async function getJson(url) {
  const resp = await fetch(url, { credentials: 'same-origin' });
  if (!resp.ok) throw new Error(`${resp.status}`);
  return resp.json();
}

/** An <img> that retries a few times (the newest file may still be uploading). */
function liveImg(src, cls, alt) {
  const img = el('img', { class: cls, alt: alt || '', src });
  let tries = 0;
  img.addEventListener('error', () => {
    if ((tries += 1) > 6) return;
    setTimeout(() => { img.src = `${src.split('?')[0]}?try=${tries}`; }, 800 * tries);
  });
  return img;
}

function heatCanvas(items, width, height) {
  const strip = heatStrip(items, 32);
  const canvas = el('canvas', { class: 'nbtrack-heat', width, height, 'data-steps': String(strip.steps.length) });
  const ctx = canvas.getContext && canvas.getContext('2d');
  if (ctx && strip.steps.length) {
    const cw = width / strip.steps.length;
    const rh = height / strip.rows;
    strip.cells.forEach((col, x) => col.forEach((v, r) => {
      if (v <= 0) return;
      ctx.fillStyle = `rgba(78, 121, 167, ${0.1 + 0.9 * v})`;
      ctx.fillRect(Math.floor(x * cw), Math.floor(height - (r + 1) * rh), Math.ceil(cw), Math.ceil(rh));
    }));
  }
  const label = strip.steps.length
    ? `${formatNumber(strip.lo)} … ${formatNumber(strip.hi)} · ${strip.steps.length} steps` : '';
  return el('div', { class: 'nbtrack-heat-box' }, canvas, el('span', { class: 'nbtrack-media-note', text: label }));
}

/** The media section; `update(media, info, root, live)` redraws what changed. */
export function mediaSection() {
  const thumbs = el('div', { class: 'nbtrack-media-thumbs' });
  const others = el('div', { class: 'nbtrack-media-others' });
  const big = el('img', { class: 'nbtrack-media-big', alt: '' });
  const bigCap = el('span', { class: 'nbtrack-media-note' });
  const overlay = el('div', { class: 'nbtrack-media-overlay', hidden: true, title: 'click to close' }, big, bigCap);
  overlay.addEventListener('click', () => { overlay.hidden = true; });
  const node = el('div', { class: 'nbtrack-media', hidden: true },
    el('div', { class: 'nbtrack-system-title', text: 'Media' }), thumbs, others, overlay);
  const cards = new Map(); // key -> {node, kind, sig, refresh()}
  let ctx = { root: null, base: '', live: false };

  const fileUrl = (path) => `${ctx.root}api/${filePath(ctx.base, path)}`;
  const api = (q) => getJson(`${ctx.root}api/${mediaPath(ctx.base, q)}`);
  const enlarge = (src, caption) => { big.src = src; setText(bigCap, caption); overlay.hidden = false; };

  function figures(value, box) {
    box.replaceChildren(...imagesOf(value).map((im) => {
      const img = liveImg(fileUrl(im.path), 'nbtrack-thumb', im.caption);
      img.addEventListener('click', () => enlarge(img.src, im.caption));
      return el('figure', { class: 'nbtrack-media-fig' }, img,
        im.caption ? el('figcaption', { text: im.caption }) : null);
    }));
  }

  function imageCard(key) {
    const figs = el('div', { class: 'nbtrack-media-figs' });
    const slider = el('input', { type: 'range', class: 'nbtrack-media-slider', min: 0, max: 0, value: 0, 'aria-label': `step of ${key}` });
    const label = el('span', { class: 'nbtrack-media-step' });
    const card = el('div', { class: 'nbtrack-media-card', 'data-key': key }, el('div', { class: 'nbtrack-media-key', text: key }),
      figs, el('div', { class: 'nbtrack-media-controls' }, slider, label));
    const st = { node: card, steps: [], pinned: false, at: 0, asked: 0, value: null };
    const showStep = (step, value) => {
      figures(value, figs);
      card.dataset.step = step === null ? '' : String(step);
      setText(label, step === null ? 'newest' : `step ${formatNumber(step)}`);
    };
    st.update = (value) => {
      st.value = value;
      if (!st.pinned) showStep(st.steps.length ? st.steps[st.steps.length - 1] : null, value);
      st.refresh();
    };
    st.refresh = async (force) => {
      if (!ctx.root || (!force && Date.now() - st.at < REFRESH_MS)) return;
      st.at = Date.now();
      try {
        const head = await api({ key, limit: 1 });
        const page = await api({ key, limit: SLIDER_STEPS, cursor: lastPageCursor(head.count, SLIDER_STEPS) });
        st.steps = page.steps;
        slider.max = String(Math.max(0, st.steps.length - 1));
        if (!st.pinned) {
          slider.value = slider.max;
          const got = await api({ key, step: 'last' });
          showStep(got.step, got.value);
        }
      } catch (e) { /* not on the server yet: keep the newest from the kernel */ }
    };
    slider.addEventListener('pointerdown', () => { st.refresh(true); });
    slider.addEventListener('input', async () => {
      const i = Number(slider.value);
      st.pinned = i < st.steps.length - 1;
      const ticket = (st.asked += 1);
      try {
        const got = await api({ key, step: st.steps[i] });
        if (ticket === st.asked) showStep(got.step, got.value);
      } catch (e) { /* keep what is shown */ }
    });
    return st;
  }

  function histCard(key) {
    const box = el('div', { class: 'nbtrack-media-hist' });
    const card = el('div', { class: 'nbtrack-media-card nbtrack-media-wide', 'data-key': key }, el('div', { class: 'nbtrack-media-key', text: key }), box);
    const st = { node: card, at: 0 };
    st.update = (value) => {
      if (!box.firstChild) box.replaceChildren(heatCanvas([{ step: 0, value }], 320, 72));
      st.refresh();
    };
    st.refresh = async () => {
      if (!ctx.root || Date.now() - st.at < REFRESH_MS) return;
      st.at = Date.now();
      try {
        const got = await api({ key, samples: HEAT_SAMPLES });
        box.replaceChildren(heatCanvas(got.values, 320, 72));
        card.dataset.steps = String(got.values.length);
      } catch (e) { /* keep the strip shown */ }
    };
    return st;
  }

  function tableCard(key) {
    const box = el('div', { class: 'nbtrack-media-table' });
    const card = el('div', { class: 'nbtrack-media-card nbtrack-media-wide', 'data-key': key }, el('div', { class: 'nbtrack-media-key', text: key }), box);
    const st = { node: card, path: null };
    st.update = async (value) => {
      const note = `${value.nrows ?? '?'} rows × ${value.ncols ?? '?'} columns`;
      if (!ctx.root || value.path === st.path) { if (!ctx.root) box.replaceChildren(el('span', { class: 'nbtrack-media-note', text: note })); return; }
      st.path = value.path;
      try {
        const t = await getJson(fileUrl(value.path));
        const cols = (t.columns || []).slice(0, PREVIEW_COLS);
        const rows = (t.data || []).slice(0, PREVIEW_ROWS);
        box.replaceChildren(el('table', { class: 'nbtrack-preview' },
          el('tr', {}, ...cols.map((c) => el('th', { text: String(c) }))),
          ...rows.map((r) => el('tr', {}, ...cols.map((_, i) => el('td', { text: typeof r[i] === 'number' ? formatNumber(r[i]) : cellText(r[i]) }))))),
        el('span', { class: 'nbtrack-media-note', text: note }));
      } catch (e) { st.path = null; box.replaceChildren(el('span', { class: 'nbtrack-media-note', text: note })); }
    };
    st.refresh = () => {};
    return st;
  }

  function fileCard(key) {
    const link = el('a', { target: '_blank', rel: 'noopener noreferrer' });
    const card = el('div', { class: 'nbtrack-media-card', 'data-key': key }, el('div', { class: 'nbtrack-media-key', text: key }), link);
    return { node: card, refresh: () => {}, update: (v) => {
      setText(link, v.path || v._type);
      if (ctx.root && v.path) link.href = fileUrl(v.path);
    } };
  }

  const MAKERS = { image: imageCard, images: imageCard, histogram: histCard, table: tableCard, file: fileCard };

  function update(media, info, root, live) {
    ctx = { root, base: runBase(info), live };
    const keys = mediaOrder(media);
    node.hidden = keys.length === 0;
    for (const [k, c] of cards) if (!keys.includes(k)) { c.node.remove(); cards.delete(k); }
    for (const k of keys) {
      const v = media[k];
      let c = cards.get(k);
      if (!c || c.kind !== v.kind) {
        if (c) c.node.remove();
        c = { ...MAKERS[v.kind](k), kind: v.kind };
        cards.set(k, c);
      }
      (v.kind === 'image' || v.kind === 'images' ? thumbs : others).append(c.node);
      const sig = JSON.stringify(v);
      if (c.sig !== sig) { c.sig = sig; c.update(v); } else if (!live) c.refresh();
    }
    node.dataset.keys = keys.join(',');
    node.dataset.pages = root ? 'jupyter' : '';
  }

  return { node, update };
}

// nbtrack run widget — anywidget front end (ESM; bundled by js/build.mjs with uPlot).
//
// Traits (docs/contracts.md, "Notebook layer"): info, state, network, progress,
// series (binary patches, ./seriesstore.js), finish, summary, sync_command, selected (JS → Python too),
// messages, system (system metrics: {key: {t, v, last}}), media (the newest media value of
// each key: paths and sizes; ./media.js loads the files by URL). Redraws are coalesced to at
// most one per animation frame.

import { el, setText, sparkSvg } from '../shared/dom.js';
import { formatDuration, formatNumber, formatValue, summaryScalar, toNumber } from '../shared/format.js';
import { compareKeys, sparklinePath } from '../shared/series.js';
import { createChart } from './chart.js';
import { pagesLink, probePages } from './links.js';
import { mediaSection } from './media.js';
import { createPacer, createVisibility } from './pace.js';
import { toggleSelected, visibleKeys } from './model.js';
import { applyPatch, applyState, createStore, isPatch } from './seriesstore.js';
import { badgeInfo, networkText, progressInfo, speedText } from './status.js';

const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1',
  '#76b7b2', '#d4a017', '#ff9da7', '#9c755f', '#8c8cdb',
];
const LIVE_STATES = new Set(['running', 'retrying', 'offline']);
const CHART_SHARE = 0.015; // of the main thread's time, about, for redrawing charts
const FEW_CHARTS = 8; // drawing at most this many charts is never paced
const URGENT = ['resize', 'fold', 'selected', 'theme', 'visible', 'state'];
const TRAITS = [
  'info', 'state', 'network', 'progress', 'series', 'finish', 'summary',
  'sync_command', 'selected', 'messages', 'system', 'media',
];
const SYSTEM_LABELS = {
  'system.cpu': 'CPU % (machine)',
  'system.memory': 'memory % (machine)',
  'system.proc.cpu.percent': 'CPU % (process)',
  'system.proc.memory.rssMB': 'RSS MB (process)',
};

// Colors are given in order of first appearance (per model, shared by its views), so
// the first ten metrics never share a color and a metric keeps its color for the run.
const COLORS = new WeakMap();
let VIEWS = 0; // each view's charts share one cursor-sync group

function colorFor(model, key) {
  let m = COLORS.get(model);
  if (!m) {
    m = new Map();
    COLORS.set(model, m);
  }
  if (!m.has(key)) m.set(key, PALETTE[m.size % PALETTE.length]);
  return m.get(key);
}

function getObj(model, name) {
  const v = model.get(name);
  return v && typeof v === 'object' ? v : {};
}

function render({ model, el: host }) {
  // ---- skeleton -------------------------------------------------------------------
  const root = el('div', { class: 'nbtrack-widget' });
  const dot = el('span', { class: 'nbtrack-dot', 'aria-hidden': 'true' });
  const nameEl = el('span', { class: 'nbtrack-name' });
  const projEl = el('span', { class: 'nbtrack-project' });
  const linkEl = el('a', { class: 'nbtrack-link', target: '_blank', rel: 'noopener noreferrer', hidden: true });
  const badge = el('span', { class: 'nbtrack-badge', 'data-state': 'running' });
  const header = el('div', { class: 'nbtrack-header' },
    el('div', { class: 'nbtrack-title' }, dot, nameEl, projEl, linkEl), badge);

  const stepEl = el('span', { class: 'nbtrack-step' });
  const rateEl = el('span', { class: 'nbtrack-rate' });
  const elapsedEl = el('span', { class: 'nbtrack-elapsed' });
  const modeEl = el('span', { class: 'nbtrack-mode' });
  const stat = (label, valueNode) => el('span', { class: 'nbtrack-stat' },
    el('span', { class: 'nbtrack-stat-label', text: label }), valueNode);
  const stats = el('div', { class: 'nbtrack-stats' },
    stat('step', stepEl), stat('speed', rateEl), stat('elapsed', elapsedEl), modeEl);

  const netEl = el('div', { class: 'nbtrack-network', hidden: true });

  const pickerLabel = el('span', { class: 'nbtrack-picker-label' });
  const chips = el('div', { class: 'nbtrack-chips' });
  const allBtn = el('button', { class: 'nbtrack-chip nbtrack-chip-all', type: 'button', text: 'all' });
  const foldBtn = el('button', { class: 'nbtrack-fold', type: 'button', 'aria-expanded': 'true', title: 'Show / hide charts' });
  const picker = el('div', { class: 'nbtrack-picker', hidden: true }, foldBtn, pickerLabel, chips, allBtn);
  const grid = el('div', { class: 'nbtrack-charts' });
  const emptyEl = el('div', { class: 'nbtrack-empty', text: 'Waiting for the first metrics…' });

  const barFill = el('div', { class: 'nbtrack-progress-fill' });
  const barLabel = el('span', { class: 'nbtrack-progress-label' });
  const barTitle = el('span', { class: 'nbtrack-progress-title' });
  const progress = el('div', {
    class: 'nbtrack-progress', hidden: true, 'data-done': 'false', 'data-fraction': '0',
    role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100',
  },
  el('div', { class: 'nbtrack-progress-head' }, barTitle, barLabel),
  el('div', { class: 'nbtrack-progress-track' }, barFill));

  const summaryBody = el('tbody');
  const summary = el('table', { class: 'nbtrack-summary', hidden: true },
    el('caption', { text: 'Run summary' }),
    el('thead', {}, el('tr', {},
      el('th', { text: 'metric' }), el('th', { text: 'value' }), el('th', { text: 'history' }))),
    summaryBody);

  const sysGrid = el('div', { class: 'nbtrack-system-grid' });
  const system = el('div', { class: 'nbtrack-system', hidden: true },
    el('div', { class: 'nbtrack-system-title', text: 'System' }), sysGrid);

  const msgList = el('ul', { class: 'nbtrack-messages', hidden: true });
  const syncCode = el('code');
  const copyBtn = el('button', { class: 'nbtrack-copy', type: 'button', text: 'copy' });
  const sync = el('div', { class: 'nbtrack-sync', hidden: true },
    el('span', { class: 'nbtrack-sync-label', text: 'Sync later with' }), syncCode, copyBtn);

  const media = mediaSection();
  root.append(header, stats, netEl, picker, grid, emptyEl, media.node, system, progress, summary, msgList, sync);
  host.appendChild(root);

  // ---- state ------------------------------------------------------------------------
  // This view's copy of the series: the trait's state, then the kernel's patches. The
  // state may be old (the model outlives views), so the view asks for a whole patch.
  const store = createStore();
  applyState(store, model.get('series'));
  let series = store.entries;
  let asked = false;
  function askSnapshot() {
    if (asked || typeof model.send !== 'function') return;
    asked = true;
    model.send({ nbtrack: 'snapshot' });
  }
  askSnapshot();
  for (const k of Object.keys(series).sort(compareKeys)) colorFor(model, k);
  let progressAt = performance.now();
  let collapsed = false;
  const syncKey = `nbtrack-view-${(VIEWS += 1)}`;
  const charts = new Map(); // key -> chart (./chart.js)
  const seen = createVisibility(() => schedule('visible'));
  const pacer = createPacer(CHART_SHARE, () => schedule('charts'));
  let lastPicker = '';
  const dirty = new Set(TRAITS);
  let frame = 0;
  let timer = 0;
  let alive = true;

  function flush() {
    if (frame) cancelAnimationFrame(frame);
    if (timer) clearTimeout(timer);
    frame = 0;
    timer = 0;
    if (!alive) return;
    const what = new Set(dirty);
    dirty.clear();
    draw(what);
  }

  function schedule(what) {
    dirty.add(what);
    if (frame || timer) return;
    frame = requestAnimationFrame(flush);
    // rAF does not fire in hidden tabs; keep the DOM current at a low rate anyway.
    timer = setTimeout(flush, 500);
  }

  const handlers = {};
  for (const name of TRAITS) {
    handlers[name] = () => {
      if (name === 'series') {
        applyState(store, model.get('series'));
        seriesChanged();
      }
      if (name === 'progress') progressAt = performance.now();
      schedule(name);
    };
    model.on(`change:${name}`, handlers[name]);
  }
  function seriesChanged() {
    series = store.entries;
    for (const k of Object.keys(series).sort(compareKeys)) colorFor(model, k);
  }
  const onCustom = (msg, buffers) => {
    if (!isPatch(msg)) return;
    const { gap } = applyPatch(store, msg, buffers || []);
    if (gap) {
      askSnapshot();
      return;
    }
    if (msg.full) asked = false;
    seriesChanged();
    schedule('series');
  };
  model.on('msg:custom', onCustom);

  // ---- drawing ---------------------------------------------------------------------
  function drawHeader() {
    const info = getObj(model, 'info');
    setText(nameEl, info.name || info.id || 'run');
    const proj = [info.entity, info.project].filter(Boolean).join(' / ');
    setText(projEl, proj);
    if (info.url) {
      linkEl.href = info.url;
      setText(linkEl, 'open ↗');
      linkEl.title = info.url;
      linkEl.hidden = false;
      probePages().then((root) => {
        const link = pagesLink(root, getObj(model, 'info'));
        if (link) { linkEl.href = link; linkEl.title = link; linkEl.dataset.pages = 'jupyter'; }
      });
    } else {
      linkEl.hidden = true;
    }
    const b = badgeInfo(model.get('state'), getObj(model, 'network'));
    badge.dataset.state = b.state;
    badge.dataset.tone = b.tone;
    badge.title = b.title;
    setText(badge, b.text);
    root.dataset.state = b.state;
    root.dataset.tone = b.tone;
    setText(modeEl, info.mode && info.mode !== 'online' ? info.mode : '');
    modeEl.hidden = !modeEl.textContent;
  }

  function drawStats() {
    const p = getObj(model, 'progress');
    const step = toNumber(p.step);
    setText(stepEl, Number.isFinite(step) ? formatNumber(Math.trunc(step)) : '—');
    stepEl.dataset.step = Number.isFinite(step) ? String(Math.trunc(step)) : '';
    setText(rateEl, speedText(p, model.get('state')));
    setText(elapsedEl, formatDuration(p.elapsed));
  }

  function drawNetwork() {
    const n = getObj(model, 'network');
    const text = networkText(n, model.get('state'), Date.now() / 1000);
    netEl.hidden = text === null;
    if (text === null) return;
    setText(netEl, text);
    netEl.dataset.state = n.state || 'retrying';
  }

  function drawPicker(allKeys, selected) {
    picker.hidden = allKeys.length === 0;
    const shown = visibleKeys(allKeys, selected);
    foldBtn.setAttribute('aria-expanded', String(!collapsed));
    setText(foldBtn, collapsed ? '▸' : '▾');
    setText(pickerLabel, `${shown.length} of ${allKeys.length} metrics`);
    const want = new Set(shown);
    const existing = new Map();
    for (const c of [...chips.children]) existing.set(c.dataset.key, c);
    const sorted = [...allKeys].sort(compareKeys);
    sorted.forEach((key, i) => {
      let chip = existing.get(key);
      if (!chip) {
        chip = el('button', { class: 'nbtrack-chip', type: 'button', 'data-key': key, text: key });
        chip.style.setProperty('--nbt-c', colorFor(model, key));
      }
      existing.delete(key);
      chip.setAttribute('aria-pressed', String(want.has(key)));
      if (chips.children[i] !== chip) chips.insertBefore(chip, chips.children[i] || null);
    });
    for (const c of existing.values()) c.remove();
    allBtn.hidden = !(Array.isArray(selected) && selected.length > 0);
  }

  function drawCharts(what) {
    const allKeys = Object.keys(series);
    const selected = model.get('selected');
    // the chips change only with the keys, the selection or the fold (not with the data)
    const pickerSig = JSON.stringify([allKeys, selected, collapsed]);
    if (pickerSig !== lastPicker) {
      lastPicker = pickerSig;
      drawPicker(allKeys, selected);
    }
    const keys = collapsed ? [] : visibleKeys(allKeys, selected);
    emptyEl.hidden = allKeys.length > 0 || !LIVE_STATES.has(model.get('state') || 'running');
    grid.hidden = collapsed;
    const want = new Set(keys);
    for (const [k, c] of charts) {
      if (!want.has(k)) {
        seen.forget(c.card);
        c.destroy();
        charts.delete(k);
      }
    }
    const todo = [];
    keys.forEach((k, i) => {
      let c = charts.get(k);
      const fresh = !c;
      if (fresh) {
        c = createChart(k, colorFor(model, k), syncKey);
        charts.set(k, c);
        seen.observe(c.card);
      }
      if (grid.children[i] !== c.card) grid.insertBefore(c.card, grid.children[i] || null);
      if (c.entry !== series[k]) {
        c.setEntry(series[k]);
        c.stale = true;
      }
      if (what.has('resize')) c.stale = true;
      if (fresh || (c.stale && seen.has(c.card))) todo.push(c);
      else if (what.has('theme')) c.redraw();
    });
    // New charts, sizes, folds and selections draw at once; new data alone at the pacer's
    // pace (./pace.js); charts off screen when they are seen.
    const urgent = todo.some((c) => !c.drawn) || URGENT.some((n) => what.has(n));
    if (!pacer.ready(urgent, todo.length > 0)) return;
    const start = performance.now();
    // Read every width first, then draw: a read after a write would lay the page out again.
    const widths = todo.map((c) => Math.max(120, Math.floor(c.card.clientWidth - 2) || 300));
    todo.forEach((c, i) => {
      c.draw(widths[i]);
      c.stale = false;
      c.drawn = true;
    });
    // a few charts draw on every update; more wait their turn
    if (todo.length) pacer.ran(todo.length > FEW_CHARTS ? performance.now() - start : 0);
  }

  function drawProgress() {
    const f = getObj(model, 'finish');
    const state = model.get('state');
    const show = Object.keys(f).length > 0 || state === 'finishing';
    progress.hidden = !show;
    if (!show) return;
    const p = progressInfo(f);
    progress.dataset.done = String(p.done);
    progress.dataset.fraction = p.fraction.toFixed(3);
    progress.setAttribute('aria-valuenow', String(Math.round(p.fraction * 100)));
    barFill.style.width = `${(p.fraction * 100).toFixed(1)}%`;
    setText(barTitle, p.done ? 'Uploaded' : 'Finishing — uploading');
    setText(barLabel, p.label);
  }

  function drawSummary() {
    const s = getObj(model, 'summary');
    const keys = Object.keys(s).filter((k) => !k.startsWith('_')).sort(compareKeys);
    summary.hidden = keys.length === 0;
    if (!keys.length && !summaryBody.firstChild) return; // running: no DOM work per update
    summaryBody.replaceChildren();
    for (const k of keys) {
      const v = s[k];
      const tr = el('tr', { 'data-key': k });
      tr.style.setProperty('--nbt-c', colorFor(model, k));
      const scalar = summaryScalar(v);
      const valTd = el('td', { class: 'nbtrack-summary-value', text: formatValue(v) });
      if (typeof v === 'string') tr.dataset.value = v;
      else if (Number.isFinite(scalar)) tr.dataset.value = String(scalar);
      const sparkTd = el('td', { class: 'nbtrack-spark' });
      const entry = series[k];
      if (entry && entry.values.length > 1) {
        sparkTd.append(sparkSvg(sparklinePath(entry.values, 96, 22), 96, 22));
      }
      tr.append(el('td', { class: 'nbtrack-summary-key', text: k, title: k }), valTd, sparkTd);
      summaryBody.append(tr);
    }
  }

  function drawMessages() {
    const list = model.get('messages');
    const msgs = Array.isArray(list) ? list.slice(-20) : [];
    msgList.hidden = msgs.length === 0;
    msgList.replaceChildren(...msgs.map((m) => el('li', { text: String(m) })));
  }

  function drawSystem() {
    const data = getObj(model, 'system');
    const keys = Object.keys(data);
    system.hidden = keys.length === 0;
    sysGrid.replaceChildren(...keys.map((k) => {
      const entry = data[k] || {};
      const values = (Array.isArray(entry.v) ? entry.v : []).map(toNumber);
      const d = values.length > 1 ? sparklinePath(values, 120, 28) : '';
      const spark = sparkSvg(d, 120, 28, 'nbtrack-system-spark');
      const label = SYSTEM_LABELS[k] || k.replace(/^system\./, '');
      return el('div', { class: 'nbtrack-system-card', 'data-key': k, 'data-points': String(values.length) },
        el('span', { class: 'nbtrack-system-key', text: label, title: k }),
        el('span', { class: 'nbtrack-system-last', text: formatNumber(toNumber(entry.last)) }),
        spark);
    }));
  }

  function drawMedia() {
    const value = getObj(model, 'media');
    if (!Object.keys(value).length && media.node.hidden) return;
    probePages().then((pages) => {
      if (alive) media.update(getObj(model, 'media'), getObj(model, 'info'), pages, LIVE_STATES.has(model.get('state')));
    });
  }

  function drawSync() {
    const cmd = model.get('sync_command');
    sync.hidden = !cmd;
    setText(syncCode, cmd || '');
  }

  function draw(what) {
    const any = (...names) => names.some((n) => what.has(n));
    if (any('info', 'state', 'network')) drawHeader();
    if (any('progress', 'state')) drawStats();
    if (any('network', 'state')) drawNetwork();
    if (any('series', 'selected', 'state', 'resize', 'fold', 'theme', 'visible', 'charts')) drawCharts(what);
    if (any('finish', 'state')) drawProgress();
    if (any('summary', 'series')) drawSummary();
    if (any('messages')) drawMessages();
    if (any('system')) drawSystem();
    if (any('media', 'state')) drawMedia();
    if (any('sync_command')) drawSync();
  }

  // ---- interaction -----------------------------------------------------------------
  function setSelected(next) {
    model.set('selected', next);
    model.save_changes();
    schedule('selected');
  }
  chips.addEventListener('click', (ev) => {
    const chip = ev.target.closest('.nbtrack-chip');
    if (!chip || !chip.dataset.key) return;
    setSelected(toggleSelected(model.get('selected'), Object.keys(series), chip.dataset.key));
  });
  allBtn.addEventListener('click', () => setSelected([]));
  foldBtn.addEventListener('click', () => {
    collapsed = !collapsed;
    schedule('fold');
  });
  copyBtn.addEventListener('click', () => {
    const cmd = model.get('sync_command') || '';
    const done = () => {
      setText(copyBtn, 'copied');
      setTimeout(() => setText(copyBtn, 'copy'), 1200);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(cmd).then(done, () => {});
    }
  });

  let lastWidth = 0;
  const ro = typeof ResizeObserver === 'function'
    ? new ResizeObserver(() => {
      const w = grid.clientWidth;
      if (w && Math.abs(w - lastWidth) > 1) {
        lastWidth = w;
        schedule('resize');
      }
    })
    : null;
  if (ro) ro.observe(grid);
  // Charts draw on a canvas with colours read from CSS: redraw when the theme changes.
  const themeWatch = typeof MutationObserver === 'function'
    ? new MutationObserver(() => schedule('theme')) : null;
  if (themeWatch) {
    themeWatch.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-jp-theme-name'] });
  }

  // Elapsed time keeps ticking between kernel updates while the run is live.
  const ticker = setInterval(() => {
    if (!LIVE_STATES.has(model.get('state') || 'running')) return;
    const p = getObj(model, 'progress');
    const base = toNumber(p.elapsed);
    if (!Number.isFinite(base)) return;
    setText(elapsedEl, formatDuration(base + (performance.now() - progressAt) / 1000));
  }, 1000);

  flush();

  return () => {
    alive = false;
    if (frame) cancelAnimationFrame(frame);
    if (timer) clearTimeout(timer);
    pacer.stop();
    for (const name of TRAITS) model.off(`change:${name}`, handlers[name]);
    model.off('msg:custom', onCustom);
    if (ro) ro.disconnect();
    if (themeWatch) themeWatch.disconnect();
    seen.disconnect();
    for (const c of charts.values()) c.destroy();
    charts.clear();
    clearInterval(ticker);
    root.remove();
  };
}

export default { render };

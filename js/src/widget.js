// nbtrack run widget — anywidget front end (ESM, no dependencies).
//
// Traits (docs/contracts.md, "Notebook layer"): info, state, network, progress,
// series (+ series_rev), finish, summary, sync_command, selected (JS → Python too),
// messages, system (system metrics: {key: {t, v, last}}). Redraws are coalesced to at most one per animation frame.
//
// scripts/build_js.py inlines the helper modules imported below into one file
// (kernel/nbtrack/notebook/static/widget.js); imports must stay one per line in the
// form `import { a, b } from './name.js';`.

import { badgeInfo, formatBytes, formatDuration, formatNumber, formatRate, formatSummaryValue, formatTick, progressInfo, summaryScalar, toNumber } from './format.js';
import { compareKeys, mergeSeries, nearestIndex, planChart, sparklinePath, toggleSelected, visibleKeys } from './chart.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const CHART_H = 132;
const PALETTE = [
  '#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1',
  '#76b7b2', '#d4a017', '#ff9da7', '#9c755f', '#8c8cdb',
];
const SERIES_CACHE = new WeakMap();
const LIVE_STATES = new Set(['running', 'retrying', 'offline']);
const TRAITS = [
  'info', 'state', 'network', 'progress', 'series', 'finish', 'summary',
  'sync_command', 'selected', 'messages', 'system',
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

// The run page through Jupyter when nbtrack's server extension answers, under the page's own
// base URL (right behind a hub); otherwise the link stays info.url (the tracking server's
// copy of the pages). One probe per page load.
let PAGES_PROBE = null;
function jupyterBaseUrl() {
  let base = null;
  try {
    const cfg = document.getElementById('jupyter-config-data');
    base = cfg ? JSON.parse(cfg.textContent).baseUrl : null;
  } catch (e) { base = null; }
  base = base || (document.body && document.body.dataset.baseUrl) || null;
  return base ? (base.endsWith('/') ? base : base + '/') : null;
}
function probePages() {
  if (PAGES_PROBE) return PAGES_PROBE;
  const base = jupyterBaseUrl();
  PAGES_PROBE = !base || typeof fetch !== 'function' ? Promise.resolve(null)
    : fetch(base + 'nbtrack/ping', { credentials: 'same-origin' })
      .then((r) => (r.ok ? base + 'nbtrack/' : null)).catch(() => null);
  return PAGES_PROBE;
}
function pagesLink(root, info) {
  if (!root || !info.entity || !info.project || !info.id) return null;
  return root + 'runs/' + [info.entity, info.project, info.id].map(encodeURIComponent).join('/');
}

function colorFor(model, key) {
  let m = COLORS.get(model);
  if (!m) {
    m = new Map();
    COLORS.set(model, m);
  }
  if (!m.has(key)) m.set(key, PALETTE[m.size % PALETTE.length]);
  return m.get(key);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c) node.appendChild(c);
  return node;
}

function sv(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function setText(node, text) {
  const t = text === undefined || text === null ? '' : String(text);
  if (node.textContent !== t) node.textContent = t;
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

  root.append(header, stats, netEl, picker, grid, emptyEl, system, progress, summary, msgList, sync);
  host.appendChild(root);

  // ---- state ------------------------------------------------------------------------
  // The merged series is shared by every view of the same model: `series` updates are
  // deltas, so a second view of the widget opened later starts from the merged copy.
  let series = mergeSeries(SERIES_CACHE.get(model) || {}, model.get('series'));
  SERIES_CACHE.set(model, series);
  for (const k of Object.keys(series).sort(compareKeys)) colorFor(model, k);
  let progressAt = performance.now();
  let collapsed = false;
  let hoverStep = null;
  const charts = new Map(); // key -> {card, svg, parts, plan, entry}
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
        series = mergeSeries(series, model.get('series'));
        SERIES_CACHE.set(model, series);
        for (const k of Object.keys(series).sort(compareKeys)) colorFor(model, k);
      }
      if (name === 'progress') progressAt = performance.now();
      schedule(name);
    };
    model.on(`change:${name}`, handlers[name]);
  }
  const onRev = () => schedule('series');
  model.on('change:series_rev', onRev);

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
    let rate = toNumber(p.steps_per_sec);
    const elapsed = toNumber(p.elapsed);
    const over = ['finished', 'failed', 'crashed', 'detached'].includes(model.get('state'));
    if (over && Number.isFinite(step) && elapsed > 0) {
      rate = (step + 1) / elapsed; // the run is over: show its average speed
    }
    setText(rateEl, `${formatRate(rate, '')} steps/s`);
    setText(elapsedEl, formatDuration(p.elapsed));
  }

  function drawNetwork() {
    const n = getObj(model, 'network');
    const state = model.get('state');
    const trouble = n.state === 'retrying' || n.state === 'failed' || state === 'retrying';
    netEl.hidden = !trouble;
    if (!trouble) return;
    const parts = [];
    parts.push(n.state === 'failed' ? 'Upload failed' : 'Connection trouble — retrying');
    const code = toNumber(n.status_code);
    if (Number.isFinite(code) && code > 0) parts.push(`HTTP ${code}`);
    const rc = toNumber(n.retry_count);
    if (Number.isFinite(rc) && rc > 0) parts.push(`${rc} ${rc === 1 ? 'retry' : 'retries'}`);
    const since = toNumber(n.since);
    if (Number.isFinite(since) && since > 0) {
      parts.push(`since ${formatDuration(Math.max(0, Date.now() / 1000 - since))}`);
    }
    if (toNumber(n.pending_bytes) > 0) parts.push(`${formatBytes(n.pending_bytes)} pending`);
    setText(netEl, parts.join(' · ') + (n.error ? ` — ${n.error}` : ''));
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

  function makeChart(key) {
    const color = colorFor(model, key);
    const lastEl = el('span', { class: 'nbtrack-chart-last' });
    const title = el('div', { class: 'nbtrack-chart-head' },
      el('span', { class: 'nbtrack-chart-key', text: key, title: key }), lastEl);
    const svg = sv('svg', { class: 'nbtrack-chart-svg', height: CHART_H, role: 'img' });
    const gGrid = sv('g', { class: 'nbtrack-grid' });
    const envelope = sv('path', { class: 'nbtrack-envelope' });
    const line = sv('path', { class: 'nbtrack-line' });
    const gMarks = sv('g', { class: 'nbtrack-marks' });
    const rule = sv('line', { class: 'nbtrack-rule', visibility: 'hidden' });
    const hdot = sv('circle', { class: 'nbtrack-hover-dot', r: 3.2, visibility: 'hidden' });
    svg.append(gGrid, envelope, line, gMarks, rule, hdot);
    const tip = el('div', { class: 'nbtrack-tip', hidden: true });
    const foot = el('div', { class: 'nbtrack-chart-foot' });
    const card = el('div', { class: 'nbtrack-chart', 'data-key': key, 'data-points': '0' },
      title, el('div', { class: 'nbtrack-chart-body' }, svg, tip), foot);
    card.style.setProperty('--nbt-c', color);
    const c = { key, card, svg, gGrid, envelope, line, gMarks, rule, hdot, tip, lastEl, foot, plan: null, entry: null, width: 0 };
    svg.addEventListener('pointermove', (ev) => {
      if (!c.plan) return;
      const r = svg.getBoundingClientRect();
      hoverStep = c.plan.xs.invert(ev.clientX - r.left);
      drawHover();
    });
    svg.addEventListener('pointerleave', () => {
      hoverStep = null;
      drawHover();
    });
    return c;
  }

  function drawChart(c, entry) {
    const width = Math.max(120, Math.floor(c.card.clientWidth - 2) || 300);
    c.entry = entry;
    c.width = width;
    const plan = planChart(entry, width, CHART_H, { l: 40, r: 8, t: 8, b: 8 });
    c.plan = plan;
    c.svg.setAttribute('width', width);
    c.svg.setAttribute('viewBox', `0 0 ${width} ${CHART_H}`);
    c.line.setAttribute('d', plan.line);
    c.envelope.setAttribute('d', plan.envelope);
    // Grid lines and y tick labels.
    c.gGrid.replaceChildren();
    for (const t of plan.yTicks) {
      const y = plan.ys(t);
      c.gGrid.append(sv('line', { x1: 40, x2: width - 8, y1: y, y2: y }));
      const label = sv('text', { x: 34, y: y + 3.5, 'text-anchor': 'end' });
      label.textContent = formatTick(t);
      c.gGrid.append(label);
    }
    // ±inf markers at the top / bottom edge, a lone point as a dot.
    c.gMarks.replaceChildren();
    for (const x of plan.posInf) {
      const m = sv('path', { class: 'nbtrack-inf', d: `M${x - 4} 8L${x + 4} 8L${x} 2Z` });
      const t = sv('title');
      t.textContent = '+∞';
      m.append(t);
      c.gMarks.append(m);
    }
    for (const x of plan.negInf) {
      const m = sv('path', { class: 'nbtrack-inf', d: `M${x - 4} ${CHART_H - 8}L${x + 4} ${CHART_H - 8}L${x} ${CHART_H - 2}Z` });
      const t = sv('title');
      t.textContent = '−∞';
      m.append(t);
      c.gMarks.append(m);
    }
    if (plan.points.length && plan.points.length <= 40) {
      for (const [s, v] of plan.points) {
        c.gMarks.append(sv('circle', { class: 'nbtrack-pt', cx: plan.xs(s), cy: plan.ys(v), r: plan.points.length === 1 ? 3 : 1.8 }));
      }
    }
    c.card.dataset.points = String(plan.pointsDrawn);
    c.svg.setAttribute('aria-label', `${c.key}: ${plan.pointsDrawn} points`);
    setText(c.lastEl, formatNumber(entry.last));
    const n = entry.steps.length;
    const extras = [];
    if (n) extras.push(`step ${formatNumber(entry.steps[0])} – ${formatNumber(entry.steps[n - 1])}`);
    if (!Number.isNaN(entry.min) && !Number.isNaN(entry.max)) {
      extras.push(`min ${formatNumber(entry.min)} · max ${formatNumber(entry.max)}`);
    }
    if (plan.nanCount) extras.push(`${plan.nanCount} NaN`);
    setText(c.foot, extras.join('  ·  '));
  }

  function drawHover() {
    for (const c of charts.values()) {
      const { plan, entry } = c;
      const idx = hoverStep === null || !plan ? -1 : nearestIndex(entry.steps, hoverStep);
      if (idx < 0) {
        c.rule.setAttribute('visibility', 'hidden');
        c.hdot.setAttribute('visibility', 'hidden');
        c.tip.hidden = true;
        c.card.removeAttribute('data-hover-step');
        continue;
      }
      const s = entry.steps[idx];
      const v = entry.values[idx];
      const x = plan.xs(s);
      c.rule.setAttribute('x1', x);
      c.rule.setAttribute('x2', x);
      c.rule.setAttribute('y1', 4);
      c.rule.setAttribute('y2', CHART_H - 4);
      c.rule.setAttribute('visibility', 'visible');
      if (Number.isFinite(v)) {
        const [lo, hi] = plan.yDomain;
        const y = plan.ys(Math.min(hi, Math.max(lo, v)));
        c.hdot.setAttribute('cx', x);
        c.hdot.setAttribute('cy', y);
        c.hdot.setAttribute('visibility', 'visible');
      } else {
        c.hdot.setAttribute('visibility', 'hidden');
      }
      setText(c.tip, '');
      c.tip.append(
        el('span', { class: 'nbtrack-tip-step', text: `step ${formatNumber(s)}` }),
        el('span', { class: 'nbtrack-tip-value', text: formatNumber(v, 6) }),
      );
      c.tip.hidden = false;
      const left = x > c.width * 0.6;
      c.tip.style.left = left ? '' : `${x + 8}px`;
      c.tip.style.right = left ? `${c.width - x + 8}px` : '';
      c.card.dataset.hoverStep = String(s);
    }
  }

  function drawCharts(what) {
    const allKeys = Object.keys(series);
    const selected = model.get('selected');
    drawPicker(allKeys, selected);
    const keys = collapsed ? [] : visibleKeys(allKeys, selected);
    emptyEl.hidden = allKeys.length > 0 || !['running', 'retrying', 'offline'].includes(model.get('state') || 'running');
    grid.hidden = collapsed;
    const want = new Set(keys);
    for (const [k, c] of charts) {
      if (!want.has(k)) {
        c.card.remove();
        charts.delete(k);
      }
    }
    keys.forEach((k, i) => {
      let c = charts.get(k);
      const fresh = !c;
      if (fresh) {
        c = makeChart(k);
        charts.set(k, c);
      }
      if (grid.children[i] !== c.card) grid.insertBefore(c.card, grid.children[i] || null);
      if (fresh || what.has('series') || what.has('resize') || c.entry !== series[k]) drawChart(c, series[k]);
    });
    if (hoverStep !== null) drawHover();
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
    summaryBody.replaceChildren();
    for (const k of keys) {
      const v = s[k];
      const tr = el('tr', { 'data-key': k });
      tr.style.setProperty('--nbt-c', colorFor(model, k));
      const scalar = summaryScalar(v);
      const valTd = el('td', { class: 'nbtrack-summary-value', text: formatSummaryValue(v) });
      if (Number.isFinite(scalar) || typeof v === 'string') tr.dataset.value = typeof v === 'string' ? v : String(scalar);
      const sparkTd = el('td', { class: 'nbtrack-spark' });
      const entry = series[k];
      if (entry && entry.values.length > 1) {
        const spark = sv('svg', { width: 96, height: 22, viewBox: '0 0 96 22' });
        spark.append(sv('path', { d: sparklinePath(entry.values, 96, 22) }));
        sparkTd.append(spark);
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
      const spark = sv('svg', { class: 'nbtrack-system-spark', width: 120, height: 28, viewBox: '0 0 120 28' });
      if (values.length > 1) spark.append(sv('path', { d: sparklinePath(values, 120, 28) }));
      const label = SYSTEM_LABELS[k] || k.replace(/^system\./, '');
      return el('div', { class: 'nbtrack-system-card', 'data-key': k, 'data-points': String(values.length) },
        el('span', { class: 'nbtrack-system-key', text: label, title: k }),
        el('span', { class: 'nbtrack-system-last', text: formatNumber(toNumber(entry.last)) }),
        spark);
    }));
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
    if (any('series', 'selected', 'state', 'resize', 'fold')) drawCharts(what);
    if (any('finish', 'state')) drawProgress();
    if (any('summary', 'series')) drawSummary();
    if (any('messages')) drawMessages();
    if (any('system')) drawSystem();
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
    for (const name of TRAITS) model.off(`change:${name}`, handlers[name]);
    model.off('change:series_rev', onRev);
    if (ro) ro.disconnect();
    clearInterval(ticker);
    root.remove();
  };
}

export default { render };

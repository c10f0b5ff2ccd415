// The run page: head, config and summary, metric charts (zoom by dragging: the page asks
// the server for that step range), media (media.js), system metrics, console tail and files.

import { el } from '../shared/dom.js';
import { formatBytes, formatDuration, formatNumber, formatValue } from '../shared/format.js';
import { metricOptions, plotAreaWidth, uPlot } from '../shared/plot.js';
import { chartData } from '../shared/series.js';
import { systemTitle } from '../shared/system.js';
import { encodePath } from '../shared/urls.js';
import { loadArtifacts } from './artifacts.js';
import { loadMedia } from './media.js';
import {
  ema, finitePart, interp, metricKeys, rowsToSeries, runtimeOf, sections, systemSeries, toCsv,
} from './data.js';
import {
  COLORS, SAMPLES, api, badge, chartWidth, crumbs, hook, main, onDragX, root, showError,
} from './page.js';
import { historyPath, runFromLocation } from './urls.js';

const X_TEXT = {
  step: (x) => `step ${formatNumber(x)}`,
  runtime: (x) => `${formatNumber(x)} s`,
  wall: (x) => new Date(x * 1000).toLocaleString(),
};

/** The plan of a chart smoothed by `weight`: the smoothed line, with the raw series kept
 * faint behind it (its min/max band when downsampled, else its line as the band's edges). */
function smoothedPlan(xs, values, width, weight) {
  const raw = chartData(xs, values, width);
  if (!(weight > 0)) return raw;
  const smooth = chartData(xs, ema(values, weight), width);
  const [x, line, hi, lo] = raw.data;
  return { ...raw, data: [x, smooth.data[1], raw.dense ? hi : line, raw.dense ? lo : line] };
}

/** Save `text` (or a data: URL) as a file named `name`. */
function download(name, href) {
  const a = el('a', { href, download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

/** A uPlot metric chart of (xs, values) in `box`; returns the plot and its plan. */
function metricPlot(box, xs, values, o) {
  const width = chartWidth(box);
  const plan = smoothedPlan(xs, values, plotAreaWidth(width), o.smooth || 0);
  const plot = new uPlot(metricOptions({
    node: box, width, height: o.height || 220, color: o.color, label: o.label,
    getPlan: () => plan, xAxis: {}, xLabel: o.xLabel, time: o.time, log: o.log,
    legend: true, xText: o.xText, cursor: o.cursor, hooks: o.hooks,
  }), plan.data, box);
  return { plot, plan };
}

function kvTable(obj, cls) {
  const keys = Object.keys(obj || {}).filter((k) => !k.startsWith('_')).sort();
  if (!keys.length) return el('p', { class: 'nbt-empty', text: 'none' });
  return el('table', { class: `nbt-kv ${cls}` }, ...keys.map((k) =>
    el('tr', { 'data-key': k }, el('td', { text: k }), el('td', { text: formatValue(obj[k], 6) }))));
}

export async function runView() {
  const { entity, project, id } = runFromLocation(root, location.pathname);
  const base = `runs/${encodePath(`${entity}/${project}/${id}`)}`;
  crumbs.replaceChildren(el('a', { href: `${root}?project=${encodeURIComponent(project)}`, text: project }), ' / ', id);
  const st = {
    run: null, xaxis: 'step', log: false, zoom: null, plots: [], times: null, history: null,
    smooth: 0, filter: '', logKeys: new Set(), closed: new Set(),
  };
  const xSel = el('select', { class: 'nbt-xaxis', 'aria-label': 'x axis' },
    el('option', { value: 'step', text: 'x: step' }), el('option', { value: 'runtime', text: 'x: runtime (s)' }),
    el('option', { value: 'wall', text: 'x: wall time' }));
  const logBox = el('input', { type: 'checkbox', class: 'nbt-log' });
  const resetBtn = el('button', { type: 'button', class: 'nbt-reset', text: 'reset zoom', disabled: true });
  const filterBox = el('input', { type: 'search', class: 'nbt-metric-filter', placeholder: 'filter metrics', 'aria-label': 'filter metrics' });
  const smoothRange = el('input', { type: 'range', class: 'nbt-smooth', min: 0, max: 0.99, step: 0.01, value: 0, 'aria-label': 'smoothing' });
  const smoothText = el('span', { class: 'nbt-smooth-value', text: '0' });
  const head = el('div', { class: 'nbt-run-head' });
  const charts = el('div', { class: 'nbt-metrics' });
  const system = el('div', { class: 'nbt-grid nbt-system' });
  const kv = el('div', { class: 'nbt-two' });
  const output = el('pre', { class: 'nbt-output' });
  const files = el('div', { class: 'nbt-files' });
  const media = el('div', { class: 'nbt-grid nbt-media-grid' });
  const artifacts = el('div', { class: 'nbt-two nbt-artifacts' });
  main.replaceChildren(head,
    el('h2', { text: 'Metrics' }),
    el('div', { class: 'nbt-controls' }, xSel, el('label', {}, logBox, ' log scale'), resetBtn,
      el('label', {}, 'smoothing ', smoothRange, ' ', smoothText), filterBox,
      el('span', { class: 'nbt-empty', text: 'drag across a chart to zoom' })),
    charts, el('h2', { text: 'Media' }), media, kv,
    el('h2', { text: 'Artifacts' }), artifacts,
    el('h2', { text: 'System metrics' }), system,
    el('h2', { text: 'Console output (tail)' }), output,
    el('h2', { text: 'Files' }), files);
  xSel.addEventListener('change', async () => { st.xaxis = xSel.value; await ensureTimes(); drawMetrics(); });
  logBox.addEventListener('change', () => { st.log = logBox.checked; st.logKeys.clear(); drawMetrics(); });
  smoothRange.addEventListener('input', () => {
    st.smooth = Number(smoothRange.value);
    smoothText.textContent = String(st.smooth);
    drawMetrics();
  });
  filterBox.addEventListener('input', () => { st.filter = filterBox.value.trim().toLowerCase(); applyFilter(); });
  resetBtn.addEventListener('click', async () => { st.zoom = null; resetBtn.disabled = true; await loadHistory(); });

  function renderHead() {
    const r = st.run;
    document.title = `${r.name} — nbtrack`;
    head.replaceChildren(
      el('h1', {}, el('span', { class: 'nbt-run-name', text: r.name }), ' ', badge(r.state)),
      el('div', { class: 'nbt-meta' },
        el('span', { text: `project ${r.project}` }), el('span', { text: `id ${r.id}` }),
        el('span', { class: 'nbt-run-step', 'data-step': r.last_step ?? '', text: `last step ${r.last_step ?? '—'}` }),
        el('span', { text: `created ${r.created_at ? new Date(r.created_at).toLocaleString() : ''}` }),
        el('span', { text: `runtime ${formatDuration(runtimeOf(r))}` }),
        r.exit_code !== null && r.exit_code !== undefined ? el('span', { text: `exit code ${r.exit_code}` }) : null));
    kv.replaceChildren(
      el('div', {}, el('h2', { text: 'Config' }), kvTable(r.config, 'nbt-config')),
      el('div', {}, el('h2', { text: 'Summary' }), kvTable(r.summary, 'nbt-summary')));
  }

  async function ensureTimes() {
    if (st.xaxis === 'step' || st.times) return;
    const data = await api(historyPath(base, { keys: ['_runtime', '_timestamp'], samples: SAMPLES }));
    const s = rowsToSeries(data.rows || []);
    const none = { steps: [], values: [] };
    st.times = { runtime: finitePart(s._runtime || none), wall: finitePart(s._timestamp || none) };
  }
  const toX = (step) => {
    if (st.xaxis === 'step' || !st.times) return step;
    const t = st.times[st.xaxis];
    return interp(t.steps, t.values, step);
  };
  const toStep = (x) => {
    if (st.xaxis === 'step' || !st.times) return x;
    const t = st.times[st.xaxis];
    return interp(t.values, t.steps, x);
  };
  // drag across a chart: ask the server for that step range
  const zoomHook = onDragX((a, b) => zoomTo(Math.floor(toStep(a)), Math.ceil(toStep(b))));

  // the filter box hides charts (and then sections) whose key does not contain its text
  function applyFilter() {
    for (const sec of charts.querySelectorAll('.nbt-section')) {
      let shown = 0;
      for (const box of sec.querySelectorAll('.nbt-metric-chart')) {
        const hide = !!st.filter && !box.dataset.key.toLowerCase().includes(st.filter);
        box.hidden = hide;
        if (!hide) shown += 1;
      }
      sec.hidden = shown === 0;
    }
  }

  function chartHead(k, finite, redraw) {
    const note = finite.skipped ? el('span', { class: 'nbt-nonfinite', text: ` · ${finite.skipped} NaN / ±∞ not drawn` }) : null;
    const logged = st.logKeys.has(k) !== st.log;
    const logBtn = el('button', { type: 'button', class: 'nbt-chart-log', 'aria-pressed': String(logged), title: 'log scale for this chart', text: 'log' });
    logBtn.addEventListener('click', () => {
      if (st.logKeys.has(k)) st.logKeys.delete(k);
      else st.logKeys.add(k);
      redraw();
    });
    const csvBtn = el('button', { type: 'button', class: 'nbt-chart-csv', title: 'download the points as CSV', text: 'csv' });
    csvBtn.addEventListener('click', () => {
      const pts = hook.charts[k];
      download(`${k.replace(/\//g, '_')}.csv`, `data:text/csv;charset=utf-8,${encodeURIComponent(toCsv('step', k, pts.steps, pts.values))}`);
    });
    const pngBtn = el('button', { type: 'button', class: 'nbt-chart-png', title: 'download the chart as PNG', text: 'png' });
    pngBtn.addEventListener('click', () => {
      const plot = st.plots.find((p) => p.nbtKey === k);
      if (plot) download(`${k.replace(/\//g, '_')}.png`, plot.ctx.canvas.toDataURL('image/png'));
    });
    return el('h3', {}, el('span', { class: 'nbt-chart-title', text: k }), note,
      el('span', { class: 'nbt-chart-tools' }, logBtn, csvBtn, pngBtn));
  }

  function drawMetrics() {
    const series = st.history || {};
    const keys = Object.keys(series).filter((k) => !k.startsWith('_')).sort();
    hook.charts = {};
    for (const p of st.plots) p.destroy();
    st.plots = [];
    if (!keys.length) {
      charts.replaceChildren(el('p', { class: 'nbt-empty', text: 'no metrics logged yet' }));
      return;
    }
    const boxes = {};
    const groups = sections(keys).map(([name, members]) => {
      const grid = el('div', { class: 'nbt-grid' });
      const sec = el('details', { class: 'nbt-section', 'data-section': name, open: !st.closed.has(name) },
        el('summary', { text: `${name || 'metrics'} (${members.length})` }), grid);
      sec.addEventListener('toggle', () => {
        if (sec.open) st.closed.delete(name);
        else st.closed.add(name);
      });
      for (const k of members) {
        const finite = finitePart(series[k]);
        hook.charts[k] = finite;
        boxes[k] = el('div', { class: 'nbt-chart nbt-metric-chart', 'data-key': k, 'data-skipped': finite.skipped || null });
        grid.append(boxes[k]);
      }
      return sec;
    });
    charts.replaceChildren(...groups);
    const draw = (k, i) => {
      const s = series[k];
      const box = boxes[k];
      const finite = hook.charts[k];
      const old = st.plots.findIndex((p) => p.nbtKey === k);
      if (old >= 0) st.plots.splice(old, 1)[0].destroy();
      box.replaceChildren(chartHead(k, finite, () => draw(k, i)));
      if (!finite.steps.length) { box.dataset.drawn = '0'; return; } // only NaN / ±inf
      const logged = st.logKeys.has(k) !== st.log;
      const { plot, plan } = metricPlot(box, s.steps.map(toX), s.values, {
        color: COLORS[i % COLORS.length], label: k, xLabel: st.xaxis, time: st.xaxis === 'wall',
        log: logged && finite.values.every((v) => v > 0), xText: X_TEXT[st.xaxis], smooth: st.smooth,
        cursor: { drag: { x: true, y: false, setScale: false } }, hooks: { setSelect: [zoomHook] },
      });
      plot.nbtKey = k;
      st.plots.push(plot);
      box.dataset.points = String(plan.points);
      box.dataset.drawn = String(finite.steps.length);
      box.dataset.log = logged ? '1' : '0';
      hook.drawn = hook.drawn || {};
      hook.drawn[k] = { line: plan.data[1], band: [plan.data[2], plan.data[3]] };
    };
    keys.forEach(draw);
    applyFilter();
    hook.ready = true;
  }

  async function zoomTo(a, b) {
    if (!(b > a)) return;
    st.zoom = [a, b];
    resetBtn.disabled = false;
    await loadHistory();
  }
  async function loadHistory() {
    const keys = metricKeys(st.run && st.run.summary);
    const data = await api(historyPath(base, { keys, samples: SAMPLES, zoom: st.zoom }));
    st.history = rowsToSeries(data.rows || []);
    charts.dataset.zoom = st.zoom ? st.zoom.join(',') : '';
    drawMetrics();
  }
  async function loadSystem() {
    const data = await api(`${base}/events`);
    const series = systemSeries(data.rows || []);
    const keys = Object.keys(series).sort();
    if (!keys.length) { system.replaceChildren(el('p', { class: 'nbt-empty', text: 'no system metrics' })); return; }
    system.replaceChildren();
    keys.forEach((k, i) => {
      const box = el('div', { class: 'nbt-chart nbt-metric-chart nbt-system-chart', 'data-key': k },
        el('h3', { title: k, text: systemTitle(k) }));
      system.append(box);
      metricPlot(box, series[k][0], series[k][1], {
        height: 160, color: COLORS[i % COLORS.length], label: k, xLabel: 'runtime (s)', xText: X_TEXT.runtime,
      });
    });
  }
  async function loadOutput() {
    const data = await api(`${base}/output`);
    const lines = (data.lines || []).slice(-300);
    output.textContent = lines.length ? lines.join('\n') : '';
    if (!lines.length) output.replaceChildren(el('span', { class: 'nbt-empty', text: 'no console output' }));
    output.scrollTop = output.scrollHeight;
  }
  async function loadFiles() {
    const data = await api(`${base}/files`);
    const list = data.files || [];
    if (!list.length) { files.replaceChildren(el('p', { class: 'nbt-empty', text: 'no files' })); return; }
    files.replaceChildren(el('table', { class: 'nbt-table nbt-file-list' },
      el('tr', {}, el('th', { text: 'name' }), el('th', { text: 'size' })),
      ...list.map((f) => el('tr', { 'data-file': f.name },
        el('td', {}, el('a', { href: `${root}api/${base}/files/${encodePath(f.name)}`, download: f.name.split('/').pop(), text: f.name })),
        el('td', { class: 'num', text: formatBytes(f.size) })))));
  }
  async function loadRun() {
    st.run = await api(base);
    renderHead();
  }

  await loadRun();
  await loadHistory();
  for (const f of [loadSystem, loadOutput, loadFiles]) f().catch((e) => showError(e, main));
  loadMedia(base, media).catch((e) => showError(e, media));
  loadArtifacts(base, artifacts).catch((e) => showError(e, artifacts));
  setInterval(async () => {
    if (document.hidden || !st.run || st.run.state !== 'running') return;
    try {
      await loadRun();
      if (!st.zoom) { st.times = null; await ensureTimes(); await loadHistory(); }
      await loadOutput();
    } catch (e) { /* keep what is shown */ }
  }, 4000);
}

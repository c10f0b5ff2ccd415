// The compare view: the metrics picked, each overlaid across runs (the hover legend gives
// every run's value, its nearest point's where it has none at that step; a drag zooms and
// refetches that step range), the same media key side by side at a chosen step (each run's
// newest value at or before it), and the config keys that differ.

import { el } from '../shared/dom.js';
import { formatNumber, formatValue } from '../shared/format.js';
import { uPlot, valueAxis } from '../shared/plot.js';
import { runHref, runPath } from '../shared/urls.js';
import { mediaPath } from '../shared/media.js';
import { mediaValue } from './media.js';
import { alignSeries, configDiff, finitePart, metricKeys, nearestValue, rowsToSeries } from './data.js';
import { COLORS, SAMPLES, api, chartWidth, crumbs, hook, main, onDragX, root } from './page.js';
import { historyPath, runApiPath } from './urls.js';

export async function compareView() {
  crumbs.textContent = 'compare';
  const params = new URLSearchParams(location.search);
  const paths = (params.get('runs') || '').split(',').filter(Boolean);
  if (paths.length < 1) { main.replaceChildren(el('p', { text: 'select runs in the table to compare them' })); return; }
  const runs = await Promise.all(paths.map((p) => api(runApiPath(p))));
  const metricList = el('div', { class: 'nbt-compare-metrics', role: 'group', 'aria-label': 'metrics' });
  const logBox = el('input', { type: 'checkbox', class: 'nbt-log' });
  const resetBtn = el('button', { type: 'button', class: 'nbt-reset', text: 'reset zoom', disabled: true });
  const legend = el('div', { class: 'nbt-legend' });
  const chartsBox = el('div', { class: 'nbt-compare-charts' });
  const diff = el('div', { class: 'nbt-diff-wrap' });
  const mediaSel = el('select', { class: 'nbt-compare-media-key', 'aria-label': 'media key' });
  const stepIn = el('input', { type: 'number', class: 'nbt-compare-step', min: 0, placeholder: 'newest', 'aria-label': 'step' });
  const mediaBox = el('div', { class: 'nbt-compare-media' });
  const mediaPart = el('div', {}, el('h2', { text: 'Media' }),
    el('div', { class: 'nbt-controls' }, mediaSel, el('label', {}, 'at step ', stepIn)), mediaBox);
  main.replaceChildren(el('h1', { text: `Compare ${runs.length} runs` }),
    el('div', { class: 'nbt-controls' }, metricList, el('label', {}, logBox, ' log scale'), resetBtn,
      el('span', { class: 'nbt-empty', text: 'drag across a chart to zoom' })),
    legend, chartsBox, mediaPart, el('h2', { text: 'Config keys that differ' }), diff);
  const metrics = [...new Set(runs.flatMap((r) => metricKeys(r.summary)))].sort();
  const asked = (params.get('metrics') || params.get('metric') || '').split(',').filter((m) => metrics.includes(m));
  const chosen = new Set(asked.length ? asked : metrics.slice(0, 1));
  metricList.replaceChildren(...metrics.map((m) => {
    const box = el('input', { type: 'checkbox', value: m, checked: chosen.has(m) });
    box.addEventListener('change', () => {
      if (box.checked) chosen.add(m);
      else chosen.delete(m);
      draw();
    });
    return el('label', {}, box, ` ${m}`);
  }));
  const color = (i) => COLORS[i % COLORS.length];
  legend.replaceChildren(...runs.map((r, i) => el('span', { style: `--c:${color(i)}`, 'data-run': runPath(r) },
    el('a', { href: runHref(root, r), text: r.name }))));
  let plots = [];
  let zoom = null;
  hook.compare = {};

  // a run without a point at the hovered step (downsampled, or logged every n steps) shows
  // its nearest point's value; outside the run's steps, nothing
  const hover = (per, i) => (u, v, sidx, idx) => {
    if (v !== null && v !== undefined) return formatNumber(v, 6);
    const { steps, values } = per[i];
    const x = idx === null || idx === undefined ? null : u.data[0][idx];
    if (x === null || !steps.length || x < steps[0] || x > steps[steps.length - 1]) return '—';
    return `≈${formatNumber(nearestValue(steps, values, x), 6)}`;
  };

  function chart(m, per) {
    const box = el('div', { class: 'nbt-chart nbt-compare-chart', 'data-metric': m, 'data-series': String(runs.length) },
      el('h3', { text: m }));
    chartsBox.append(box);
    const positive = per.every((s) => s.values.every((v) => v > 0));
    const plot = new uPlot({
      width: chartWidth(box),
      height: 300,
      scales: { x: { time: false }, y: { distr: logBox.checked && positive ? 3 : 1 } },
      axes: [valueAxis(box, { size: 30, space: 60, grid: { show: false } }), valueAxis(box)],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: { setSelect: [onDragX((a, b) => {
        if (b > a) { zoom = [Math.floor(a), Math.ceil(b)]; resetBtn.disabled = false; draw(); }
      })] },
      series: [{ label: 'step', value: (u, v) => formatNumber(v) }, ...runs.map((r, i) => ({
        label: r.name, stroke: color(i), width: 1.5, spanGaps: true, value: hover(per, i),
      }))],
    }, alignSeries(per), box);
    box.dataset.points = per.map((s) => s.steps.length).join(',');
    plots.push(plot);
  }

  async function draw() {
    for (const p of plots) p.destroy();
    plots = [];
    chartsBox.replaceChildren();
    chartsBox.dataset.zoom = zoom ? zoom.join(',') : '';
    const wanted = metrics.filter((m) => chosen.has(m));
    if (!wanted.length) {
      chartsBox.append(el('p', { class: 'nbt-empty', text: metrics.length ? 'pick a metric' : 'no common metrics' }));
      return;
    }
    // one request per run for every metric shown; a zoom asks for that step range again
    const all = await Promise.all(runs.map((r) =>
      api(historyPath(runApiPath(runPath(r)), { keys: wanted, samples: SAMPLES, zoom }))));
    const none = { steps: [], values: [] };
    const series = all.map((d) => rowsToSeries(d.rows || []));
    for (const m of wanted) {
      const per = series.map((s) => finitePart(s[m] || none));
      hook.compare[m] = per;
      chart(m, per);
    }
    hook.ready = true;
  }
  resetBtn.addEventListener('click', () => { zoom = null; resetBtn.disabled = true; draw(); });
  const bases = runs.map((r) => runApiPath(runPath(r)));
  const mediaKeys = await Promise.all(bases.map((b) => api(mediaPath(b)).then((d) => d.keys, () => [])));
  const kinds = new Map(mediaKeys.flat().map((k) => [k.key, k.kind]));
  if (!kinds.size) mediaPart.remove();
  mediaSel.replaceChildren(...[...kinds.keys()].sort().map((k) => el('option', { value: k, text: k })));
  if (params.get('media') && kinds.has(params.get('media'))) mediaSel.value = params.get('media');
  if (params.get('step')) stepIn.value = params.get('step');
  async function drawMedia() {
    const key = mediaSel.value;
    if (!key) return;
    const step = stepIn.value === '' ? 'last' : stepIn.value;
    const cells = await Promise.all(runs.map(async (r, i) => {
      const got = await api(mediaPath(bases[i], { key, step })).catch(() => null);
      const shown = got ? await mediaValue(bases[i], kinds.get(key), got.value)
        : el('p', { class: 'nbt-empty', text: 'no value at or before this step' });
      return el('div', { class: 'nbt-chart nbt-compare-cell', 'data-run': runPath(r), 'data-step': got ? got.step : null },
        el('h3', {}, el('a', { href: runHref(root, r), text: r.name }), got ? ` · step ${formatNumber(got.step)}` : ''), shown);
    }));
    mediaBox.replaceChildren(...cells);
    mediaBox.dataset.key = key;
  }
  mediaSel.addEventListener('change', () => drawMedia());
  stepIn.addEventListener('change', () => drawMedia());
  if (kinds.size) await drawMedia();
  logBox.addEventListener('change', draw);
  const differs = configDiff(runs);
  diff.replaceChildren(differs.length ? el('table', { class: 'nbt-table nbt-diff' },
    el('tr', {}, el('th', { text: 'key' }), ...runs.map((r) => el('th', { text: r.name }))),
    ...differs.map((k) => el('tr', { 'data-key': k }, el('td', { text: k }),
      ...runs.map((r) => el('td', { class: 'nbt-differs', text: formatValue((r.config || {})[k], 6) })))))
    : el('p', { class: 'nbt-empty', text: 'the configs are the same' }));
  await draw();
}

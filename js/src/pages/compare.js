// The compare view: one metric overlaid across runs, the same media key side by side at a
// chosen step (each run's newest value at or before it), and the config keys that differ.

import { el } from '../shared/dom.js';
import { formatNumber, formatValue } from '../shared/format.js';
import { uPlot, valueAxis } from '../shared/plot.js';
import { runHref, runPath } from '../shared/urls.js';
import { mediaPath } from '../shared/media.js';
import { mediaValue } from './media.js';
import { alignSeries, configDiff, finitePart, metricKeys, rowsToSeries } from './data.js';
import { COLORS, SAMPLES, api, chartWidth, crumbs, hook, main, root } from './page.js';
import { historyPath, runApiPath } from './urls.js';

export async function compareView() {
  crumbs.textContent = 'compare';
  const params = new URLSearchParams(location.search);
  const paths = (params.get('runs') || '').split(',').filter(Boolean);
  if (paths.length < 1) { main.replaceChildren(el('p', { text: 'select runs in the table to compare them' })); return; }
  const runs = await Promise.all(paths.map((p) => api(runApiPath(p))));
  const metricSel = el('select', { class: 'nbt-compare-metric', 'aria-label': 'metric' });
  const logBox = el('input', { type: 'checkbox', class: 'nbt-log' });
  const legend = el('div', { class: 'nbt-legend' });
  const box = el('div', { class: 'nbt-chart nbt-compare-chart' });
  const diff = el('div', { class: 'nbt-diff-wrap' });
  const mediaSel = el('select', { class: 'nbt-compare-media-key', 'aria-label': 'media key' });
  const stepIn = el('input', { type: 'number', class: 'nbt-compare-step', min: 0, placeholder: 'newest', 'aria-label': 'step' });
  const mediaBox = el('div', { class: 'nbt-compare-media' });
  const mediaPart = el('div', {}, el('h2', { text: 'Media' }),
    el('div', { class: 'nbt-controls' }, mediaSel, el('label', {}, 'at step ', stepIn)), mediaBox);
  main.replaceChildren(el('h1', { text: `Compare ${runs.length} runs` }),
    el('div', { class: 'nbt-controls' }, metricSel, el('label', {}, logBox, ' log scale')),
    legend, box, mediaPart, el('h2', { text: 'Config keys that differ' }), diff);
  const metrics = [...new Set(runs.flatMap((r) => metricKeys(r.summary)))].sort();
  metricSel.replaceChildren(...metrics.map((m) => el('option', { value: m, text: m })));
  const wanted = params.get('metric');
  if (wanted && metrics.includes(wanted)) metricSel.value = wanted;
  let plot = null;

  async function draw() {
    const m = metricSel.value;
    if (!m) { box.replaceChildren(el('p', { class: 'nbt-empty', text: 'no common metrics' })); return; }
    const all = await Promise.all(runs.map((r) =>
      api(historyPath(runApiPath(runPath(r)), { keys: [m], samples: SAMPLES }))));
    const none = { steps: [], values: [] };
    const per = all.map((d) => finitePart(rowsToSeries(d.rows || [])[m] || none));
    if (plot) plot.destroy();
    box.replaceChildren(el('h3', { text: m }));
    const positive = per.every((s) => s.values.every((v) => v > 0));
    plot = new uPlot({
      width: chartWidth(box),
      height: 320,
      scales: { x: { time: false }, y: { distr: logBox.checked && positive ? 3 : 1 } },
      axes: [valueAxis(box, { size: 30, space: 60, grid: { show: false } }), valueAxis(box)],
      series: [{ label: 'step', value: (u, v) => formatNumber(v) }, ...runs.map((r, i) => ({
        label: r.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
        value: (u, v) => formatNumber(v, 6),
      }))],
    }, alignSeries(per), box);
    box.dataset.series = String(runs.length);
    box.dataset.metric = m;
    box.dataset.points = per.map((s) => s.steps.length).join(',');
    legend.replaceChildren(...runs.map((r, i) => el('span', { style: `--c:${COLORS[i % COLORS.length]}`, 'data-run': runPath(r) },
      el('a', { href: runHref(root, r), text: r.name }))));
    hook.ready = true;
  }
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
  metricSel.addEventListener('change', draw);
  logBox.addEventListener('change', draw);
  const differs = configDiff(runs);
  diff.replaceChildren(differs.length ? el('table', { class: 'nbt-table nbt-diff' },
    el('tr', {}, el('th', { text: 'key' }), ...runs.map((r) => el('th', { text: r.name }))),
    ...differs.map((k) => el('tr', { 'data-key': k }, el('td', { text: k }),
      ...runs.map((r) => el('td', { class: 'nbt-differs', text: formatValue((r.config || {})[k], 6) })))))
    : el('p', { class: 'nbt-empty', text: 'the configs are the same' }));
  await draw();
}

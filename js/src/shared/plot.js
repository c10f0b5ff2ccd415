// The one chart library of the nbtrack front end is uPlot; this module holds what the
// widget's charts and the run pages' charts share: the metric chart's options (line,
// min/max band, value axis, theme colours read from CSS), and the NaN / ±inf marks.

import uPlot from 'uplot';

import { el } from './dom.js';
import { formatNumber, formatTicks } from './format.js';
import { withAlpha } from './series.js';

export { uPlot };

/** A colour from a CSS custom property of `node`, read at every draw (themes change). */
export function cssColor(node, name, fallback) {
  const v = getComputedStyle(node).getPropertyValue(name).trim();
  return v || fallback;
}

// The y axis' width and the plot's right padding: the plot area is the chart's width
// less both (charts downsample to that many pixel columns).
const AXIS_SIZE = 44;
const PAD_RIGHT = 10;

/** The plot area's width in a chart `width` px wide. */
export function plotAreaWidth(width) {
  return Math.max(1, width - AXIS_SIZE - PAD_RIGHT);
}

/** A value axis: short tick labels, dashed grid, colours from --nbt-axis / --nbt-grid. */
export function valueAxis(node, extra = {}) {
  return {
    size: AXIS_SIZE,
    gap: 4,
    space: 26,
    font: '10px system-ui, -apple-system, "Segoe UI", sans-serif',
    stroke: () => cssColor(node, '--nbt-axis', '#8c959f'),
    grid: { stroke: () => cssColor(node, '--nbt-grid', '#d8dee4'), width: 1, dash: [2, 3] },
    ticks: { show: false },
    values: (u, splits) => formatTicks(splits),
    ...extra,
  };
}

const MARKS = [
  ['posInf', 'nbtrack-inf', '+', '+∞'],
  ['negInf', 'nbtrack-inf', '-', '−∞'],
  ['nan', 'nbtrack-nan', 'nan', 'NaN'],
];

/** uPlot plugin: the NaN / ±inf of a chart as marks on its edges (+∞ at the top, −∞ and
 * NaN at the bottom), one per pixel at most, placed again after every draw. `getMarks()`
 * gives {nan, posInf, negInf}: x positions in the x scale's units; `xText(x)` the words
 * of a mark's tooltip ("step 12"). */
export function marksPlugin(getMarks, xText) {
  let layer = null;
  return {
    hooks: {
      init: (u) => {
        layer = el('div', { class: 'nbtrack-marks', 'aria-hidden': 'true' });
        u.over.append(layer);
      },
      draw: (u) => {
        const marks = getMarks() || {};
        // the plot area's CSS width from uPlot's own numbers: reading the DOM here (once per
        // chart per draw) forced a layout between charts drawn in one frame
        const width = u.bbox.width / uPlot.pxRatio;
        const nodes = [];
        for (const [name, cls, sign, text] of MARKS) {
          const seen = new Set();
          for (const x of marks[name] || []) {
            const left = Math.round(u.valToPos(x, 'x'));
            if (!(left >= 0 && left <= width) || seen.has(left)) continue;
            seen.add(left);
            const node = el('span', { class: cls, 'data-sign': sign, title: `${text} at ${xText(x)}` });
            node.style.left = `${left}px`;
            nodes.push(node);
          }
        }
        layer.replaceChildren(...nodes);
      },
    },
  };
}

/** Options of a metric chart drawn from shared/series.js's chartData(): the line, its
 * min/max band (series 2 and 3) and the marks. `getPlan()` returns the current plan, so
 * one plot follows new data through setData(plan.data). Options:
 * node (for CSS colours), width, height, color, label, getPlan, xText;
 * xAxis: false (hidden) or extra axis options; log: log y scale; time: a time x scale;
 * legend, cursor, hooks: as uPlot's. */
export function metricOptions(o) {
  const plan = o.getPlan;
  const c = o.color;
  return {
    width: o.width,
    height: o.height,
    padding: [8, PAD_RIGHT, o.xAxis ? 0 : 8, 0],
    legend: { show: !!o.legend },
    scales: {
      x: { time: !!o.time, range: () => plan().xRange },
      y: o.log ? { distr: 3 } : { range: () => plan().yRange },
    },
    axes: [
      o.xAxis ? valueAxis(o.node, { size: 30, space: 60, grid: { show: false },
        ...(o.time ? { values: undefined } : {}), ...o.xAxis }) : { show: false },
      valueAxis(o.node),
    ],
    series: [
      // a time axis keeps uPlot's date format
      o.time ? { label: o.xLabel } : { label: o.xLabel || 'step', value: (u, v) => formatNumber(v) },
      {
        label: o.label,
        stroke: c,
        width: 1.6,
        value: (u, v) => formatNumber(v, 6),
        points: { show: (u) => u.data[0].length <= 48, size: 4, fill: c },
      },
      { label: 'max', stroke: withAlpha(c, 0.45), width: 1, points: { show: false } },
      { label: 'min', stroke: withAlpha(c, 0.45), width: 1, points: { show: false } },
    ],
    bands: [{ series: [2, 3], fill: withAlpha(c, 0.18) }],
    cursor: { y: false, points: { show: false }, ...(o.cursor || {}) },
    plugins: [marksPlugin(() => plan().marks, o.xText || ((x) => `step ${formatNumber(x)}`))],
    hooks: o.hooks || {},
  };
}

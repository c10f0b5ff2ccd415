// One metric chart of the run widget: a card with the key and last value, a uPlot chart
// (line, min/max band, NaN / ±inf marks), the hover tip and the step footer. The cursor
// of every chart of a widget view moves together (uPlot's cursor sync).

import { el, setText } from '../shared/dom.js';
import { formatNumber } from '../shared/format.js';
import { metricOptions, plotAreaWidth, uPlot } from '../shared/plot.js';
import { chartData, nearestIndex } from '../shared/series.js';
import { footText } from './model.js';

const CHART_H = 132;

/** A chart card for `key`; `update(entry, width)` draws, `destroy()` removes it. */
export function createChart(key, color, syncKey) {
  const lastEl = el('span', { class: 'nbtrack-chart-last' });
  const plotEl = el('div', { class: 'nbtrack-chart-plot', role: 'img' });
  const tip = el('div', { class: 'nbtrack-tip', hidden: true });
  const dot = el('span', { class: 'nbtrack-hover-dot', hidden: true });
  const foot = el('div', { class: 'nbtrack-chart-foot' });
  const card = el('div', { class: 'nbtrack-chart', 'data-key': key, 'data-points': '0' },
    el('div', { class: 'nbtrack-chart-head' },
      el('span', { class: 'nbtrack-chart-key', text: key, title: key }), lastEl),
    el('div', { class: 'nbtrack-chart-body' }, plotEl, tip),
    foot);
  card.style.setProperty('--nbt-c', color);

  let entry = { steps: [], values: [] };
  let plan = chartData([], [], 1);
  let plot = null;
  let width = 0;

  function hover(u) {
    const left = u.cursor.left;
    const idx = left == null || left < 0 ? -1 : nearestIndex(entry.steps, u.posToVal(left, 'x'));
    if (idx < 0) {
      tip.hidden = true;
      dot.hidden = true;
      card.removeAttribute('data-hover-step');
      return;
    }
    const s = entry.steps[idx];
    const v = entry.values[idx];
    const x = u.valToPos(s, 'x');
    dot.hidden = !Number.isFinite(v);
    if (!dot.hidden) {
      const [lo, hi] = plan.yRange;
      dot.style.transform = `translate(${x}px, ${u.valToPos(Math.min(hi, Math.max(lo, v)), 'y')}px)`;
    }
    tip.replaceChildren(
      el('span', { class: 'nbtrack-tip-step', text: `step ${formatNumber(s)}` }),
      el('span', { class: 'nbtrack-tip-value', text: formatNumber(v, 6) }));
    tip.hidden = false;
    const at = u.over.offsetLeft + x;
    const flip = at > width * 0.6;
    tip.style.left = flip ? '' : `${at + 8}px`;
    tip.style.right = flip ? `${width - at + 8}px` : '';
    card.dataset.hoverStep = String(s);
  }

  function create() {
    const opts = metricOptions({
      node: card, width, height: CHART_H, color, label: key, getPlan: () => plan,
      cursor: { sync: { key: syncKey }, drag: { x: false, y: false } },
      hooks: { setCursor: [hover], draw: [hover] },
    });
    plot = new uPlot(opts, plan.data, plotEl);
    plot.over.append(dot);
  }

  // The facts of the entry (cheap) are set on every update; the canvas is drawn only when
  // the widget asks (charts off screen wait until they are seen).
  function setEntry(next) {
    entry = next;
    const n = entry.steps.length;
    // what the widget holds (tests compare it with the kernel's copy): exact numbers
    card.dataset.n = String(n);
    card.dataset.last = String(entry.last);
    card.dataset.lastStep = n ? String(entry.steps[n - 1]) : '';
  }

  function draw(w) {
    plan = chartData(entry.steps, entry.values, plotAreaWidth(w));
    if (!plot) {
      width = w;
      create();
    } else {
      plot.batch(() => {
        if (w !== width) plot.setSize({ width: w, height: CHART_H });
        plot.setData(plan.data);
      });
      width = w;
    }
    card.dataset.points = String(plan.points);
    setText(lastEl, formatNumber(entry.last));
    plotEl.setAttribute('aria-label', `${key}: ${plan.points} points`);
    setText(foot, footText(entry, plan));
  }

  return {
    card,
    get entry() { return entry; },
    setEntry,
    draw,
    update(next, w) {
      setEntry(next);
      draw(w);
    },
    redraw() {
      if (plot) plot.redraw(false);
    },
    destroy() {
      if (plot) plot.destroy();
      plot = null;
      card.remove();
    },
  };
}

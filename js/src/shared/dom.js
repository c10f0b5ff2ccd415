// The few DOM helpers the widget and the pages share.

/** A new element: `attrs` sets attributes (`text` the text, `on<event>` a listener;
 * undefined / null / false leave it out, true sets it empty), then the children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** Set a node's text only when it changed (no needless mutations). */
export function setText(node, text) {
  const t = text === undefined || text === null ? '' : String(text);
  if (node.textContent !== t) node.textContent = t;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A sparkline: an inline SVG w×h with one path (`d` from shared/series.js). */
export function sparkSvg(d, w, h, cls) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  for (const [k, v] of Object.entries({ width: w, height: h, viewBox: `0 0 ${w} ${h}` })) {
    svg.setAttribute(k, String(v));
  }
  if (cls) svg.setAttribute('class', cls);
  if (d) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

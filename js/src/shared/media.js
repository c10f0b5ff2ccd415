// Pure handling of logged media (W&B's history encoding), shared by the run pages and the
// widget: the URLs of a key's steps / values / files, the images of a value, histograms as
// a distribution-over-steps heat strip, and a table's filter / sort / page.

import { encodePath } from './urls.js';

/** Tables up to this many rows are filtered, sorted and paged in the browser (W&B itself
 * logs at most 10,000 rows per table); the viewer shows the first MAX_TABLE_ROWS of larger. */
export const MAX_TABLE_ROWS = 200000;

/** The read API path of a run's media route; `q` adds key / step / samples / limit / cursor. */
export function mediaPath(base, q = {}) {
  const parts = Object.entries(q).filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  return `${base}/media${parts.length ? `?${parts.join('&')}` : ''}`;
}

/** The read API path of a stored run file ("media/images/x.png"), each segment encoded. */
export function filePath(base, name) {
  return `${base}/files/${encodePath(name)}`;
}

/** The images of an image value: [{path, caption}] for `image-file` (one) and
 * `images/separated` (a gallery); [] for anything else. */
export function imagesOf(value) {
  if (!value || typeof value !== 'object') return [];
  if (value._type === 'image-file' && typeof value.path === 'string') {
    return [{ path: value.path, caption: typeof value.caption === 'string' ? value.caption : '' }];
  }
  if (value._type === 'images/separated' && Array.isArray(value.filenames)) {
    const caps = Array.isArray(value.captions) ? value.captions : [];
    return value.filenames.filter((f) => typeof f === 'string')
      .map((path, i) => ({ path, caption: typeof caps[i] === 'string' ? caps[i] : '' }));
  }
  return [];
}

/** The index in ascending `steps` of the newest step at or before `step` (0 when before all). */
export function stepIndex(steps, step) {
  let lo = 0;
  let hi = steps.length - 1;
  if (hi < 0) return -1;
  if (step < steps[0]) return 0;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (steps[mid] <= step) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Histogram values over steps ([{step, value: {bins, values}}]) as a heat strip: one column
 * per step, `rows` bands over the common value range, each cell the share of that step's
 * counts falling in the band (0..1, normalized by the column's largest cell). */
export function heatStrip(items, rows = 48) {
  const hists = items.filter((it) => it.value && Array.isArray(it.value.bins)
    && Array.isArray(it.value.values) && it.value.bins.length === it.value.values.length + 1);
  let lo = Infinity;
  let hi = -Infinity;
  for (const { value } of hists) {
    lo = Math.min(lo, value.bins[0]);
    hi = Math.max(hi, value.bins[value.bins.length - 1]);
  }
  if (!hists.length || !(hi > lo)) return { steps: [], lo: 0, hi: 0, rows, cells: [] };
  const width = (hi - lo) / rows;
  const cells = hists.map(({ value }) => {
    const col = new Array(rows).fill(0);
    value.values.forEach((count, i) => {
      const a = value.bins[i];
      const b = value.bins[i + 1];
      if (!(count > 0) || !(b > a)) return;
      // spread the bin's count over the bands it covers, in proportion to the overlap
      const first = Math.max(0, Math.floor((a - lo) / width));
      const last = Math.min(rows - 1, Math.floor((b - lo) / width - 1e-9));
      for (let r = first; r <= last; r += 1) {
        const overlap = Math.min(b, lo + (r + 1) * width) - Math.max(a, lo + r * width);
        if (overlap > 0) col[r] += (count * overlap) / (b - a);
      }
    });
    const top = Math.max(...col);
    return top > 0 ? col.map((c) => c / top) : col;
  });
  return { steps: hists.map((h) => h.step), lo, hi, rows, cells };
}

/** The rows of a W&B table JSON ({columns, data}) whose cells contain `text` (any column). */
export function filterRows(data, text) {
  const q = String(text || '').trim().toLowerCase();
  if (!q) return data;
  return data.filter((row) => row.some((cell) => cellText(cell).toLowerCase().includes(q)));
}

/** The text a table cell shows (and is filtered by). */
export function cellText(cell) {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'object') {
    if (cell._type === 'image-file') return cell.caption || cell.path || 'image';
    return JSON.stringify(cell);
  }
  return String(cell);
}

/** Rows sorted by column `col` ('asc' / 'desc'): numbers as numbers, the rest as text,
 * missing cells last in both directions; a stable sort. */
export function sortRows(data, col, dir) {
  const d = dir === 'desc' ? -1 : 1;
  const key = (row) => {
    const v = row[col];
    if (v === null || v === undefined || v === '') return null;
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
    return cellText(v).toLowerCase();
  };
  return data.map((row, i) => [key(row), i, row]).sort((a, b) => {
    if (a[0] === b[0]) return a[1] - b[1];
    if (a[0] === null) return 1;
    if (b[0] === null) return -1;
    if (typeof a[0] !== typeof b[0]) return (typeof a[0] === 'number' ? -1 : 1);
    return (a[0] < b[0] ? -1 : 1) * d;
  }).map((x) => x[2]);
}

/** Page `page` (from 0) of `size` rows, and how many pages there are. */
export function pageOf(data, page, size) {
  const pages = Math.max(1, Math.ceil(data.length / size));
  const p = Math.min(Math.max(0, page), pages - 1);
  return { rows: data.slice(p * size, (p + 1) * size), page: p, pages };
}

/** The read API path of a run ({entity, project, id}): "runs/<e>/<p>/<id>", each encoded. */
export function runBase(run) {
  return `runs/${[run.entity, run.project, run.id].map(encodeURIComponent).join('/')}`;
}

/** The cursor of the last `size` steps of a key with `count` of them ("0" when fewer). */
export function lastPageCursor(count, size) {
  return String(Math.max(0, (Number(count) || 0) - size));
}

/** The media keys of the widget's `media` trait in display order: images and galleries
 * first (the thumbnail row), then histograms, tables and other files, each by key. */
export function mediaOrder(media) {
  const rank = { image: 0, images: 0, histogram: 1, table: 2, file: 3 };
  return Object.keys(media || {}).filter((k) => media[k] && media[k].kind in rank)
    .sort((a, b) => (rank[media[a].kind] - rank[media[b].kind]) || (a < b ? -1 : a > b ? 1 : 0));
}

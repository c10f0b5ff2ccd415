// Pure formatting helpers for the nbtrack run widget.
//
// Build rule (scripts/build_js.py): helper modules contain only top-level
// `export function` / `export const` declarations plus private helpers; the
// build strips the `export ` keyword and inlines the module into one file.

/** Turn a wire value into a JS number: "NaN" / "Infinity" / "-Infinity" strings
 * (how the kernel sends non-finite floats) become the real values; booleans become
 * 0/1; anything else non-numeric becomes NaN. */
export function toNumber(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === 'NaN' || v === 'nan') return NaN;
  if (v === 'Infinity' || v === 'inf' || v === '+Infinity') return Infinity;
  if (v === '-Infinity' || v === '-inf') return -Infinity;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isNaN(n) ? NaN : n;
  }
  return NaN;
}

const SI_PREFIXES = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** Compact, human number formatting. Accepts numbers and the wire strings.
 * 0.000123 -> "1.23e-4", 1234.5 -> "1,234.5", 12345678 -> "1.23e+7",
 * NaN -> "NaN", Infinity -> "+∞", -Infinity -> "−∞". */
export function formatNumber(v, digits = 4) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string' && !['NaN', 'Infinity', '-Infinity', 'nan', 'inf', '-inf'].includes(v)) {
    const n = Number(v);
    if (v.trim() === '' || Number.isNaN(n)) return v;
    v = n;
  }
  const x = toNumber(v);
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+∞';
  if (x === -Infinity) return '−∞';
  if (x === 0) return '0';
  const ax = Math.abs(x);
  if (Number.isInteger(x) && ax < 1e7) return x.toLocaleString('en-US');
  if (ax >= 1e7 || ax < 1e-3) {
    return x.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, 'e');
  }
  // Significant digits, no trailing zeros, thousands separators for big values.
  const s = Number(x.toPrecision(digits));
  return s.toLocaleString('en-US', { maximumFractionDigits: 12 });
}

/** Short tick labels: 1500 -> "1.5k", 0.25 -> "0.25". */
export function formatTick(v) {
  const x = toNumber(v);
  if (!Number.isFinite(x)) return formatNumber(x);
  if (x === 0) return '0';
  const ax = Math.abs(x);
  for (const [base, suffix] of SI_PREFIXES) {
    if (ax >= base) return `${Number((x / base).toPrecision(3))}${suffix}`;
  }
  if (ax < 1e-3) return x.toExponential(1).replace(/\.0e/, 'e');
  return `${Number(x.toPrecision(3))}`;
}

/** Seconds -> "4.2s", "1m 05s", "2h 03m", "3d 04h". */
export function formatDuration(sec) {
  const s = toNumber(sec);
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  const pad = (n) => String(n).padStart(2, '0');
  const total = Math.floor(s);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const r = total % 60;
  if (d > 0) return `${d}d ${pad(h)}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  return `${m}m ${pad(r)}s`;
}

/** Rates: 0 -> "0/s", 0.5 -> "0.50/s", 12.3 -> "12.3/s", 4567 -> "4.57k/s". */
export function formatRate(v, unit = '/s') {
  const x = toNumber(v);
  if (!Number.isFinite(x) || x < 0) return `—${unit}`;
  if (x === 0) return `0${unit}`;
  if (x >= 1000) return `${formatTick(x)}${unit}`;
  if (x >= 100) return `${Math.round(x)}${unit}`;
  if (x >= 10) return `${x.toFixed(1)}${unit}`;
  return `${x.toFixed(2)}${unit}`;
}

/** Bytes -> "0 B", "512 B", "1.5 KiB", "20.0 MiB". */
export function formatBytes(n) {
  const x = toNumber(n);
  if (!Number.isFinite(x) || x < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = x;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

export const STATES = [
  'running', 'retrying', 'offline', 'finishing', 'finished', 'failed', 'crashed', 'detached',
];

/** Badge for a state: {state, text, title, tone}. `network` adds the HTTP status and
 * retry count to "retrying". Unknown states show as-is with a neutral tone. */
export function badgeInfo(state, network) {
  const net = network || {};
  const s = typeof state === 'string' && state ? state : 'running';
  switch (s) {
    case 'running':
      return { state: s, text: 'running', title: 'The run is logging', tone: 'active' };
    case 'retrying': {
      const parts = [];
      const code = toNumber(net.status_code);
      if (Number.isFinite(code) && code > 0) parts.push(`HTTP ${code}`);
      const n = toNumber(net.retry_count);
      if (Number.isFinite(n) && n > 0) parts.push(`retry ${n}`);
      const text = parts.length ? `retrying · ${parts.join(' · ')}` : 'retrying';
      const title = net.error ? `Network trouble: ${net.error}` : 'Network trouble, retrying';
      return { state: s, text, title, tone: 'warn' };
    }
    case 'offline':
      return { state: s, text: 'offline', title: 'Logging locally only; sync later', tone: 'muted' };
    case 'finishing':
      return { state: s, text: 'finishing', title: 'Uploading the last data', tone: 'active' };
    case 'finished':
      return { state: s, text: 'finished', title: 'The run finished', tone: 'good' };
    case 'failed':
      return { state: s, text: 'failed', title: 'The run failed', tone: 'bad' };
    case 'crashed':
      return { state: s, text: 'crashed', title: 'The run stopped sending heartbeats', tone: 'bad' };
    case 'detached':
      return {
        state: s, text: 'detached', title: 'Finish timed out; data is kept locally', tone: 'warn',
      };
    default:
      return { state: s, text: s, title: s, tone: 'muted' };
  }
}

/** Finish progress: {fraction in [0,1], done, label}. Bytes dominate; when nothing is
 * to upload, the file count decides; `done` forces 1. */
export function progressInfo(finish) {
  const f = finish || {};
  const done = f.done === true;
  const ub = Math.max(0, toNumber(f.uploaded_bytes) || 0);
  const tb = Math.max(0, toNumber(f.total_bytes) || 0);
  const uf = Math.max(0, toNumber(f.uploaded_files) || 0);
  const tf = Math.max(0, toNumber(f.total_files) || 0);
  const pending = Math.max(0, toNumber(f.pending_lines) || 0);
  let fraction;
  if (done) fraction = 1;
  else if (tb > 0) fraction = Math.min(1, ub / tb);
  else if (tf > 0) fraction = Math.min(1, uf / tf);
  else fraction = 0;
  // Not done yet: never show a full bar.
  if (!done && fraction >= 1) fraction = 0.99;
  const parts = [`${formatBytes(ub)} / ${formatBytes(tb)}`];
  if (tf > 0 || uf > 0) parts.push(`${uf}/${tf} files`);
  if (pending > 0) parts.push(`${pending.toLocaleString('en-US')} lines pending`);
  return { fraction, done, label: parts.join(' · ') };
}

/** Value shown in the summary table: a number, a string, or an aggregate dict
 * ({min, max, last, ...}) rendered as "last 0.2 · min 0.1 · max 3". */
export function formatSummaryValue(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number' || typeof v === 'boolean') {
    return typeof v === 'boolean' ? String(v) : formatNumber(v);
  }
  if (typeof v === 'string') return formatNumber(v);
  if (Array.isArray(v)) return `[${v.length} items]`;
  if (typeof v === 'object') {
    const order = ['last', 'best', 'min', 'max', 'mean', 'first'];
    const keys = Object.keys(v).sort((a, b) => {
      const ia = order.indexOf(a);
      const ib = order.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
    return keys.map((k) => `${k} ${formatSummaryValue(v[k])}`).join(' · ');
  }
  return String(v);
}

/** The scalar a summary entry stands for (for sorting/sparklines): the number, or the
 * "last" of an aggregate dict. */
export function summaryScalar(v) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    if ('last' in v) return toNumber(v.last);
    if ('best' in v) return toNumber(v.best);
    return NaN;
  }
  return toNumber(v);
}

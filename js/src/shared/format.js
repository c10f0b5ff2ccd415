// The one formatter of the nbtrack front end (run widget and run pages): wire values,
// numbers, NaN / ±inf, durations, rates, bytes, and config / summary values.
//
// The wire encoding (widget traits and the read API, both strict JSON): non-finite floats
// travel as the strings "NaN", "Infinity" and "-Infinity" (docs/pages.md).

const WIRE = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** A wire value as a number: numbers as they are, the three wire strings as NaN / ±inf,
 * anything else (other strings, null, objects) as null. */
export function decodeNumber(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && Object.hasOwn(WIRE, v)) return WIRE[v];
  return null;
}

/** Like decodeNumber, but booleans count as 0 / 1 and everything else is NaN. */
export function toNumber(v) {
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = decodeNumber(v);
  return n === null ? NaN : n;
}

const SI_PREFIXES = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

// One formatter each, made once: toLocaleString() with options builds a new one on every
// call, which was most of the time of a chart's footer and tick labels.
const EN_INT = new Intl.NumberFormat('en-US');
const EN_FRAC = new Intl.NumberFormat('en-US', { maximumFractionDigits: 12 });

/** A number (or wire string) for people: 0.000123 -> "1.23e-4", 1234.5 -> "1,235",
 * 12345678 -> "1.23e+7", NaN -> "NaN", Infinity -> "+∞", -Infinity -> "−∞", missing -> "—".
 * Other strings come back as they are. */
export function formatNumber(v, digits = 4) {
  if (v === null || v === undefined) return '—';
  const x = typeof v === 'boolean' ? Number(v) : decodeNumber(v);
  if (x === null) return String(v);
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+∞';
  if (x === -Infinity) return '−∞';
  if (x === 0) return '0';
  const ax = Math.abs(x);
  if (Number.isInteger(x) && ax < 1e7) return EN_INT.format(x);
  if (ax >= 1e7 || ax < 1e-3) {
    return x.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, 'e');
  }
  // Significant digits, no trailing zeros, thousands separators for big values.
  const s = Number(x.toPrecision(digits));
  return EN_FRAC.format(s);
}

/** Short axis labels: 1500 -> "1.5k", 0.25 -> "0.25". */
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

/** An axis' tick labels: formatTick's, with more significant digits while two ticks would
 * read the same (ticks 1.601e-4, 1.602e-4, ... are not all "1.6e-4"). */
export function formatTicks(splits) {
  let labels = splits.map(formatTick);
  for (let digits = 4; digits <= 10 && new Set(labels).size < labels.length; digits += 1) {
    labels = splits.map((v) => {
      const x = toNumber(v);
      if (!Number.isFinite(x) || x === 0) return formatTick(x);
      const ax = Math.abs(x);
      if (ax < 1e-3 || ax >= 1e15) return x.toExponential(digits - 1).replace(/\.?0+e/, 'e');
      return `${Number(x.toPrecision(digits))}`;
    });
  }
  return labels;
}

/** Seconds -> "4.2s", "1m 05s", "2h 03m", "3d 04h"; missing or negative -> "—". */
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

// Keys of a metric's summary aggregate ({last, min, max, ...}), in the order shown.
const AGGREGATES = ['last', 'best', 'min', 'max', 'mean', 'first'];
const LIST_ITEMS = 8; // longer lists show as "[n items]"

function isAggregate(v) {
  const keys = Object.keys(v);
  return keys.length > 0 && keys.some((k) => AGGREGATES.includes(k));
}

/** Any config or summary value: numbers as formatNumber, strings as they are, short lists
 * item by item ("[+∞, 1]"), longer ones as "[12 items]", a metric's aggregate as
 * "last 0.2 · min 0.1 · max 3", other objects as "{x: NaN, y: 2}". */
export function formatValue(v, digits = 4) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' || typeof v === 'string') return formatNumber(v, digits);
  if (Array.isArray(v)) {
    if (v.length > LIST_ITEMS) return `[${v.length} items]`;
    return `[${v.map((x) => formatValue(x, digits)).join(', ')}]`;
  }
  if (typeof v === 'object') {
    if (isAggregate(v)) {
      const rank = (k) => (AGGREGATES.includes(k) ? AGGREGATES.indexOf(k) : 99);
      const keys = Object.keys(v).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
      return keys.map((k) => `${k} ${formatValue(v[k], digits)}`).join(' · ');
    }
    return `{${Object.entries(v).map(([k, x]) => `${k}: ${formatValue(x, digits)}`).join(', ')}}`;
  }
  return String(v);
}

/** The value a summary entry stands for (sorting, charts): the number, or the "last"
 * (else "best") of an aggregate; strings and lists are not numbers (null). */
export function summaryScalar(v) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    if ('last' in v) return decodeNumber(v.last);
    if ('best' in v) return decodeNumber(v.best);
    return null;
  }
  return typeof v === 'boolean' ? Number(v) : decodeNumber(v);
}

// Pure texts of the run widget's status parts: the state badge, the network line, the
// finish progress bar and the speed.

import { formatBytes, formatDuration, formatRate, toNumber } from '../shared/format.js';

export const STATES = [
  'running', 'retrying', 'offline', 'finishing', 'finished', 'failed', 'crashed', 'detached',
];
const OVER = new Set(['finished', 'failed', 'crashed', 'detached']);

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

/** The network trouble line, or null when there is none to show. `now` in seconds. */
export function networkText(network, state, now) {
  const n = network || {};
  if (!(n.state === 'retrying' || n.state === 'failed' || state === 'retrying')) return null;
  const parts = [n.state === 'failed' ? 'Upload failed' : 'Connection trouble — retrying'];
  const code = toNumber(n.status_code);
  if (Number.isFinite(code) && code > 0) parts.push(`HTTP ${code}`);
  const rc = toNumber(n.retry_count);
  if (Number.isFinite(rc) && rc > 0) parts.push(`${rc} ${rc === 1 ? 'retry' : 'retries'}`);
  const since = toNumber(n.since);
  if (Number.isFinite(since) && since > 0) {
    parts.push(`since ${formatDuration(Math.max(0, now - since))}`);
  }
  if (toNumber(n.pending_bytes) > 0) parts.push(`${formatBytes(n.pending_bytes)} pending`);
  return parts.join(' · ') + (n.error ? ` — ${n.error}` : '');
}

/** "48.70 steps/s": the live rate, or the run's average once it is over. */
export function speedText(progress, state) {
  const p = progress || {};
  const step = toNumber(p.step);
  const elapsed = toNumber(p.elapsed);
  let rate = toNumber(p.steps_per_sec);
  if (OVER.has(state) && Number.isFinite(step) && elapsed > 0) rate = (step + 1) / elapsed;
  return `${formatRate(rate, '')} steps/s`;
}

/** Finish progress: {fraction in [0,1], done, label}. Bytes dominate; when nothing is
 * to upload, the file count decides; `done` forces 1. */
export function progressInfo(finish) {
  const f = finish || {};
  const done = f.done === true;
  const count = (v) => Math.max(0, toNumber(v) || 0);
  const [ub, tb, uf, tf] = [f.uploaded_bytes, f.total_bytes, f.uploaded_files, f.total_files]
    .map(count);
  const pending = count(f.pending_lines);
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

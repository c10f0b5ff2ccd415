// The run page's artifacts: the versions the run logged and used, each with its aliases,
// size, the bytes its upload sent (the rest the server held already), its files, and its
// lineage: the run that logged it → the version → the runs that used it.

import { el } from '../shared/dom.js';
import { formatBytes, formatNumber } from '../shared/format.js';
import { encodePath, runHref, runPath } from '../shared/urls.js';
import { api, root } from './page.js';

function runLink(r) {
  return r ? el('a', { class: 'nbt-lineage-run', href: runHref(root, r), 'data-run': runPath(r), text: r.name })
    : el('span', { class: 'nbt-empty', text: 'unknown run' });
}

/** producer → version → consumers, one line. */
function lineage(v) {
  const users = v.used_by || [];
  return el('div', { class: 'nbt-lineage' },
    runLink(v.logged_by), el('span', { class: 'nbt-arrow', text: ' → ' }),
    el('span', { class: 'nbt-lineage-version', text: v.name }), el('span', { class: 'nbt-arrow', text: ' → ' }),
    ...(users.length ? users.flatMap((r, i) => (i ? [', ', runLink(r)] : [runLink(r)]))
      : [el('span', { class: 'nbt-empty', text: 'not used yet' })]));
}

function fileList(base, v) {
  const more = v.files_truncated ? el('p', { class: 'nbt-empty', text: `first ${v.files.length} of ${formatNumber(v.file_count)} files` }) : null;
  return el('details', { class: 'nbt-artifact-files' },
    el('summary', { text: `${formatNumber(v.file_count)} file${v.file_count === 1 ? '' : 's'}` }),
    el('table', { class: 'nbt-table' }, el('tr', {}, el('th', { text: 'file' }), el('th', { text: 'size' })),
      ...v.files.map((f) => el('tr', { 'data-file': f.name },
        el('td', {}, f.ref ? `${f.name} → ${f.ref}` : el('a', {
          href: `${root}api/${base}/artifacts/${encodeURIComponent(v.name)}/files/${encodePath(f.name)}`,
          download: f.name.split('/').pop(), text: f.name })),
        el('td', { class: 'num', text: formatBytes(f.size) })))), more);
}

function versionRow(base, v) {
  return el('div', { class: 'nbt-chart nbt-artifact', 'data-artifact': v.name, 'data-type': v.type },
    el('h3', {}, el('span', { text: v.name }), ' ', el('span', { class: 'nbt-artifact-type', text: v.type }),
      ...v.aliases.map((a) => el('span', { class: 'nbt-tag nbt-alias', text: a }))),
    el('div', { class: 'nbt-meta' },
      el('span', { text: formatBytes(v.size) }),
      el('span', { class: 'nbt-artifact-sent', 'data-bytes': v.received_bytes, text: `${formatBytes(v.received_bytes)} uploaded` })),
    lineage(v), fileList(base, v));
}

/** Fill `box` with the run's artifacts (`base`: the run's read API path). */
export async function loadArtifacts(base, box) {
  const data = await api(`${base}/artifacts`);
  const part = (title, list, cls) => el('div', { class: cls },
    el('h3', { text: `${title} (${list.length})` }),
    ...(list.length ? list.map((v) => versionRow(base, v)) : [el('p', { class: 'nbt-empty', text: 'none' })]));
  const logged = data.logged || [];
  const used = data.used || [];
  box.replaceChildren(part('logged', logged, 'nbt-artifacts-logged'), part('used', used, 'nbt-artifacts-used'));
  box.dataset.loaded = String(logged.length + used.length);
}

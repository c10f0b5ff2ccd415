// The runs table: filters, sortable columns, summary columns to pick, runs to compare.

import { el } from '../shared/dom.js';
import { formatDuration, formatValue } from '../shared/format.js';
import { runHref, runPath } from '../shared/urls.js';
import { configKeys, filterRuns, flatConfig, runtimeOf, sortRuns, summaryKeys } from './data.js';
import { api, badge, crumbs, hook, main, root } from './page.js';
import { compareHref } from './urls.js';

const HEAD = [['', null], ['name', 'name'], ['project', 'project'], ['state', 'state'],
  ['group', 'group'], ['tags', 'tags'], ['created', 'created'], ['runtime', 'runtime'],
  ['last step', 'last_step']];

export async function runsView() {
  crumbs.textContent = 'runs';
  const params = new URLSearchParams(location.search);
  const st = {
    runs: [], project: params.get('project') || '', state: params.get('state') || '',
    text: params.get('q') || '', cols: (params.get('cols') || '').split(',').filter(Boolean),
    ccols: (params.get('config') || '').split(',').filter(Boolean),
    sort: params.get('sort') || 'created', dir: params.get('dir') || 'desc', selected: new Set(),
  };
  const projectSel = el('select', { class: 'nbt-filter-project', 'aria-label': 'project' });
  const stateSel = el('select', { class: 'nbt-filter-state', 'aria-label': 'state' },
    ...['', 'running', 'finished', 'failed', 'crashed'].map((s) =>
      el('option', { value: s, text: s || 'any state' })));
  stateSel.value = st.state;
  const search = el('input', { type: 'search', class: 'nbt-filter-text', placeholder: 'filter by name, id, tag…', value: st.text });
  const colBtn = el('button', { class: 'nbt-columns-button', type: 'button', text: 'summary columns ▾' });
  const colList = el('div', { class: 'nbt-columns-list', hidden: true });
  const cfgBtn = el('button', { class: 'nbt-config-button', type: 'button', text: 'config columns ▾' });
  const cfgList = el('div', { class: 'nbt-config-list nbt-columns-list', hidden: true });
  const compareBtn = el('button', { class: 'nbt-compare-button', type: 'button', disabled: true, text: 'compare selected' });
  const count = el('span', { class: 'nbt-count' });
  const wrap = el('div', { class: 'nbt-table-wrap' });
  main.replaceChildren(
    el('h1', { text: 'Runs' }),
    el('div', { class: 'nbt-controls' }, projectSel, stateSel, search,
      el('span', { class: 'nbt-columns' }, colBtn, colList),
      el('span', { class: 'nbt-columns' }, cfgBtn, cfgList), compareBtn, count),
    wrap);
  colBtn.addEventListener('click', () => { colList.hidden = !colList.hidden; });
  cfgBtn.addEventListener('click', () => { cfgList.hidden = !cfgList.hidden; });
  projectSel.addEventListener('change', () => { st.project = projectSel.value; render(); });
  stateSel.addEventListener('change', () => { st.state = stateSel.value; render(); });
  search.addEventListener('input', () => { st.text = search.value; render(); });
  compareBtn.addEventListener('click', () => { location.href = compareHref(root, [...st.selected]); });

  function picker(list, keys, field, empty) {
    list.replaceChildren(...(keys.length ? keys.map((k) => {
      const box = el('input', { type: 'checkbox', value: k, checked: st[field].includes(k) });
      box.addEventListener('change', () => {
        st[field] = box.checked ? [...st[field], k] : st[field].filter((c) => c !== k);
        render();
      });
      return el('label', {}, box, ` ${k}`);
    }) : [el('span', { class: 'nbt-empty', text: empty })]));
  }

  function renderColumnPicker() {
    picker(colList, summaryKeys(st.runs), 'cols', 'no summary metrics yet');
    picker(cfgList, configKeys(st.runs), 'ccols', 'no config yet');
  }

  function row(r) {
    const p = runPath(r);
    const box = el('input', { type: 'checkbox', class: 'nbt-select', 'aria-label': `select ${r.name}`, checked: st.selected.has(p) });
    box.addEventListener('change', () => {
      if (box.checked) st.selected.add(p);
      else st.selected.delete(p);
      compareBtn.disabled = st.selected.size < 2;
    });
    const created = r.created_at ? new Date(r.created_at) : null;
    const config = flatConfig(r.config);
    return el('tr', { 'data-run': p, 'data-state': r.state },
      el('td', {}, box),
      el('td', { 'data-col': 'name', title: r.notes || null },
        el('a', { href: runHref(root, r), text: r.name }),
        r.notes ? el('div', { class: 'nbt-notes', text: r.notes }) : null),
      el('td', { 'data-col': 'project', text: r.project }),
      el('td', { 'data-col': 'state' }, badge(r.state)),
      el('td', { 'data-col': 'group', text: r.group || '' }),
      el('td', { 'data-col': 'tags' }, ...(r.tags || []).map((t) => el('span', { class: 'nbt-tag', text: t }))),
      el('td', { 'data-col': 'created', title: r.created_at || '', text: created ? created.toLocaleString() : '' }),
      el('td', { 'data-col': 'runtime', class: 'num', text: formatDuration(runtimeOf(r)) }),
      el('td', { 'data-col': 'last_step', class: 'num', text: r.last_step ?? '' }),
      ...st.cols.map((c) => el('td', { 'data-col': `s:${c}`, class: 'num', text: formatValue((r.summary || {})[c]) })),
      ...st.ccols.map((c) => el('td', { 'data-col': `c:${c}`, text: c in config ? formatValue(config[c]) : '' })));
  }

  function render() {
    const projects = [...new Set(st.runs.map((r) => r.project))].sort();
    projectSel.replaceChildren(el('option', { value: '', text: 'all projects' }),
      ...projects.map((p) => el('option', { value: p, text: p })));
    projectSel.value = st.project;
    const rows = sortRuns(filterRuns(st.runs, st), st.sort, st.dir);
    count.textContent = `${rows.length} of ${st.runs.length} runs`;
    const head = [...HEAD, ...st.cols.map((c) => [c, `s:${c}`]),
      ...st.ccols.map((c) => [`config: ${c}`, `c:${c}`])];
    const thead = el('tr', {}, ...head.map(([label, key]) => {
      const th = el('th', { 'data-sort': key, 'data-dir': key === st.sort ? st.dir : null, text: label });
      if (key) {
        th.addEventListener('click', () => {
          st.dir = st.sort === key && st.dir === 'desc' ? 'asc' : 'desc';
          st.sort = key;
          render();
        });
      }
      return th;
    }));
    wrap.replaceChildren(el('table', { class: 'nbt-table nbt-runs' },
      el('thead', {}, thead), el('tbody', {}, ...rows.map(row))));
    compareBtn.disabled = st.selected.size < 2;
  }

  async function load() {
    const data = await api('runs');
    st.runs = data.runs || [];
    renderColumnPicker();
    render();
    hook.ready = true;
    return st.runs.some((r) => r.state === 'running');
  }

  let live = await load();
  // running runs refresh every 3 s; an idle table looks for new runs every 15 s
  setInterval(async () => {
    if (!live || document.hidden) return;
    try { live = await load(); } catch (e) { /* keep the last table */ }
  }, 3000);
  setInterval(async () => {
    if (live) return;
    try { live = await load(); } catch (e) { /* idle */ }
  }, 15000);
}

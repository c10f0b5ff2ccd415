/* nbtrack run pages: runs table, run page, compare view. Plain JS, charts with uPlot.
 * Every URL is built from <body data-root> (<base_url>nbtrack/ in Jupyter, /pages/ on the
 * tracking server); data comes from <root>api/<read API path>. */
(function () {
  'use strict';
  const root = document.body.dataset.root || './';
  const view = document.body.dataset.view;
  const main = document.getElementById('nbt-main');
  const crumbs = document.getElementById('nbt-crumbs');
  const SAMPLES = 1000;
  const COLORS = ['#0969da', '#cf222e', '#1a7f37', '#8250df', '#bc4c00', '#1b7c83', '#bf3989',
    '#4d2d00', '#6e7781', '#116329'];
  window.nbtrackPages = { charts: {}, ready: false };

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid);
    return e;
  }
  const enc = (p) => p.split('/').map(encodeURIComponent).join('/');
  async function api(path) {
    const resp = await fetch(root + 'api/' + path, { credentials: 'same-origin' });
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok) {
      const msg = (body && (body.error + (body.hint ? ' — ' + body.hint : ''))) || resp.statusText;
      throw new Error(msg);
    }
    return body;
  }
  function showError(err, where) {
    const box = el('div', { class: 'nbt-error', role: 'alert', text: String(err.message || err) });
    (where || main).prepend(box);
  }
  const runPath = (r) => `${r.entity}/${r.project}/${r.id}`;
  const runHref = (r) => root + 'runs/' + enc(runPath(r));
  // NaN / ±inf arrive as the strings "NaN", "Infinity", "-Infinity" (the API is strict JSON;
  // the widget's encoding, js/src/format.js): num() makes them numbers again, fmt() shows
  // them as the widget does (NaN, +∞, −∞), charts leave them out.
  function num(v) {
    if (typeof v === 'number') return v;
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    return null;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '';
    const n = num(v);
    if (n !== null) {
      if (Number.isNaN(n)) return 'NaN';
      if (!Number.isFinite(n)) return n > 0 ? '+∞' : '−∞';
      if (Number.isInteger(n)) return String(n);
      return Math.abs(n) >= 1e5 || (Math.abs(n) < 1e-3 && n !== 0) ? n.toExponential(3) : n.toPrecision(5).replace(/\.?0+$/, '');
    }
    if (Array.isArray(v)) return `[${v.map(fmt).join(', ')}]`;
    if (typeof v === 'object') {
      if ('last' in v || 'min' in v || 'max' in v) {
        return Object.entries(v).map(([k, x]) => `${k}=${fmt(x)}`).join(' ');
      }
      return `{${Object.entries(v).map(([k, x]) => `${k}: ${fmt(x)}`).join(', ')}}`;
    }
    return String(v);
  }
  function duration(sec) {
    if (sec === null || sec === undefined || !isFinite(sec)) return '';
    sec = Math.max(0, Math.round(sec));
    const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
    return h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
  }
  function runtimeOf(r) {
    const rt = r.summary && num(r.summary._runtime);
    if (rt !== null && rt !== undefined && !isNaN(rt)) return rt;
    const a = Date.parse(r.created_at), b = Date.parse(r.heartbeat_at || r.updated_at);
    return isFinite(a) && isFinite(b) ? (b - a) / 1000 : null;
  }
  const badge = (state) => el('span', { class: 'nbt-badge', 'data-state': state, text: state });
  const summaryKeys = (runs) => {
    const keys = new Set();
    for (const r of runs) for (const k of Object.keys(r.summary || {})) if (!k.startsWith('_')) keys.add(k);
    return [...keys].sort();
  };
  function summaryValue(v) {
    if (v && typeof v === 'object' && !Array.isArray(v)) v = 'last' in v ? v.last : v;
    return v;
  }

  // ------------------------------------------------------------------ runs table
  async function runsView() {
    crumbs.textContent = 'runs';
    const params = new URLSearchParams(location.search);
    const st = {
      runs: [], project: params.get('project') || '', state: params.get('state') || '',
      text: params.get('q') || '', cols: (params.get('cols') || '').split(',').filter(Boolean),
      sort: params.get('sort') || 'created', dir: params.get('dir') || 'desc', selected: new Set(),
    };
    const projectSel = el('select', { class: 'nbt-filter-project', 'aria-label': 'project' });
    const stateSel = el('select', { class: 'nbt-filter-state', 'aria-label': 'state' });
    for (const s of ['', 'running', 'finished', 'failed', 'crashed']) {
      stateSel.append(el('option', { value: s, text: s || 'any state' }));
    }
    stateSel.value = st.state;
    const search = el('input', { type: 'search', class: 'nbt-filter-text', placeholder: 'filter by name, id, tag…', value: st.text });
    const colBtn = el('button', { class: 'nbt-columns-button', type: 'button', text: 'summary columns ▾' });
    const colList = el('div', { class: 'nbt-columns-list', hidden: true });
    const compareBtn = el('button', { class: 'nbt-compare-button', type: 'button', disabled: true, text: 'compare selected' });
    const count = el('span', { class: 'nbt-count' });
    main.replaceChildren(
      el('h1', { text: 'Runs' }),
      el('div', { class: 'nbt-controls' }, projectSel, stateSel, search,
        el('span', { class: 'nbt-columns' }, colBtn, colList), compareBtn, count),
      el('div', { class: 'nbt-table-wrap' }));
    const wrap = main.querySelector('.nbt-table-wrap');
    colBtn.addEventListener('click', () => { colList.hidden = !colList.hidden; });
    projectSel.addEventListener('change', () => { st.project = projectSel.value; render(); });
    stateSel.addEventListener('change', () => { st.state = stateSel.value; render(); });
    search.addEventListener('input', () => { st.text = search.value; render(); });
    compareBtn.addEventListener('click', () => {
      location.href = root + 'compare?runs=' + [...st.selected].map(encodeURIComponent).join(',');
    });

    function filtered() {
      const q = st.text.trim().toLowerCase();
      return st.runs.filter((r) => (!st.project || r.project === st.project)
        && (!st.state || r.state === st.state)
        && (!q || [r.name, r.id, r.project, ...(r.tags || []), r.group || '', r.notes || '']
          .some((x) => String(x).toLowerCase().includes(q))));
    }
    const getters = {
      name: (r) => r.name, project: (r) => r.project, state: (r) => r.state,
      created: (r) => r.created_at || '', runtime: (r) => runtimeOf(r), last_step: (r) => r.last_step,
    };
    const sortValue = (r, key) => {
      if (!key.startsWith('s:')) return getters[key](r);
      const raw = summaryValue((r.summary || {})[key.slice(2)]), n = num(raw);
      return n === null ? raw : Number.isNaN(n) ? null : n;  // NaN sorts with the missing
    };
    function sorted(rows) {
      const k = st.sort, d = st.dir === 'asc' ? 1 : -1;
      return rows.slice().sort((a, b) => {
        const x = sortValue(a, k), y = sortValue(b, k);
        if (x === y) return 0;
        if (x === null || x === undefined) return 1;
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * d;
      });
    }
    function renderColumnPicker() {
      const keys = summaryKeys(st.runs);
      colList.replaceChildren(...(keys.length ? keys.map((k) => {
        const box = el('input', { type: 'checkbox', value: k, checked: st.cols.includes(k) });
        box.addEventListener('change', () => {
          st.cols = box.checked ? [...st.cols, k] : st.cols.filter((c) => c !== k);
          render();
        });
        return el('label', {}, box, ' ' + k);
      }) : [el('span', { class: 'nbt-empty', text: 'no summary metrics yet' })]));
    }
    function render() {
      const projects = [...new Set(st.runs.map((r) => r.project))].sort();
      projectSel.replaceChildren(el('option', { value: '', text: 'all projects' }),
        ...projects.map((p) => el('option', { value: p, text: p })));
      projectSel.value = st.project;
      const rows = sorted(filtered());
      count.textContent = `${rows.length} of ${st.runs.length} runs`;
      const head = [['', null], ['name', 'name'], ['project', 'project'], ['state', 'state'],
        ['created', 'created'], ['runtime', 'runtime'], ['last step', 'last_step'],
        ...st.cols.map((c) => [c, 's:' + c])];
      const thead = el('tr', {}, ...head.map(([label, key]) => {
        const th = el('th', { 'data-sort': key, 'data-dir': key === st.sort ? st.dir : null, text: label });
        if (key) th.addEventListener('click', () => {
          st.dir = st.sort === key && st.dir === 'desc' ? 'asc' : 'desc';
          st.sort = key;
          render();
        });
        return th;
      }));
      const body = rows.map((r) => {
        const p = runPath(r);
        const box = el('input', { type: 'checkbox', class: 'nbt-select', 'aria-label': 'select ' + r.name, checked: st.selected.has(p) });
        box.addEventListener('change', () => {
          if (box.checked) st.selected.add(p); else st.selected.delete(p);
          compareBtn.disabled = st.selected.size < 2;
        });
        const created = r.created_at ? new Date(r.created_at) : null;
        return el('tr', { 'data-run': p, 'data-state': r.state },
          el('td', {}, box),
          el('td', { 'data-col': 'name' }, el('a', { href: runHref(r), text: r.name })),
          el('td', { 'data-col': 'project', text: r.project }),
          el('td', { 'data-col': 'state' }, badge(r.state)),
          el('td', { 'data-col': 'created', title: r.created_at || '', text: created ? created.toLocaleString() : '' }),
          el('td', { 'data-col': 'runtime', class: 'num', text: duration(runtimeOf(r)) }),
          el('td', { 'data-col': 'last_step', class: 'num', text: r.last_step ?? '' }),
          ...st.cols.map((c) => el('td', { 'data-col': 's:' + c, class: 'num', text: fmt(summaryValue((r.summary || {})[c])) })));
      });
      wrap.replaceChildren(el('table', { class: 'nbt-table nbt-runs' }, el('thead', {}, thead), el('tbody', {}, ...body)));
      compareBtn.disabled = st.selected.size < 2;
    }
    async function load() {
      const data = await api('runs');
      st.runs = data.runs || [];
      renderColumnPicker();
      render();
      window.nbtrackPages.ready = true;
      return st.runs.some((r) => r.state === 'running');
    }
    let live = await load();
    // running runs refresh live
    setInterval(async () => {
      if (!live || document.hidden) return;
      try { live = await load(); } catch (e) { /* keep the last table */ }
    }, 3000);
    setInterval(async () => { if (!live) { try { live = await load(); } catch (e) { /* idle */ } } }, 15000);
  }

  // ------------------------------------------------------------------ charts
  function rowsToSeries(rows) {
    const series = {};
    for (const row of rows) {
      const step = row._step;
      if (typeof step !== 'number') continue;
      for (const [k, v] of Object.entries(row)) {
        if (k === '_step') continue;
        const y = num(v);
        if (y === null) continue;
        const s = (series[k] = series[k] || { steps: [], values: [], skipped: 0 });
        if (!Number.isFinite(y)) { s.skipped += 1; continue; }  // NaN / ±inf: not drawn
        s.steps.push(step);
        s.values.push(y);
      }
    }
    return series;
  }
  function interp(xs, ys, x) {  // xs sorted
    if (!xs.length) return null;
    let lo = 0, hi = xs.length - 1;
    if (x <= xs[0]) return ys[0];
    if (x >= xs[hi]) return ys[hi];
    while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
    const t = (x - xs[lo]) / (xs[hi] - xs[lo] || 1);
    return ys[lo] + t * (ys[hi] - ys[lo]);
  }
  function chartWidth(box) { return Math.max(300, Math.floor(box.getBoundingClientRect().width) - 14); }
  function makePlot(box, opts, data) {
    // a y axis wide enough for labels such as 120,000
    const axes = opts.axes || [{}, { size: 70 }];
    const plot = new uPlot(Object.assign({ width: chartWidth(box), height: 220, axes }, opts), data, box);
    return plot;
  }

  // ------------------------------------------------------------------ run page
  async function runView() {
    // <root>runs/<entity>/<project>/<id>, each part percent-encoded (a project may be "runs")
    const rel = location.pathname.startsWith(root) ? location.pathname.slice(root.length)
      : location.pathname.slice(location.pathname.indexOf('/runs/') + 1);
    const [entity, project, id] = rel.replace(/^runs\//, '').replace(/\/$/, '').split('/')
      .map(decodeURIComponent);
    const base = 'runs/' + enc(`${entity}/${project}/${id}`);
    crumbs.replaceChildren(el('a', { href: root + '?project=' + encodeURIComponent(project), text: project }), ' / ', id);
    const st = { run: null, xaxis: 'step', log: false, zoom: null, plots: {}, times: null, history: null };
    const xSel = el('select', { class: 'nbt-xaxis', 'aria-label': 'x axis' },
      el('option', { value: 'step', text: 'x: step' }), el('option', { value: 'runtime', text: 'x: runtime (s)' }),
      el('option', { value: 'wall', text: 'x: wall time' }));
    const logBox = el('input', { type: 'checkbox', class: 'nbt-log' });
    const resetBtn = el('button', { type: 'button', class: 'nbt-reset', text: 'reset zoom', disabled: true });
    const head = el('div', { class: 'nbt-run-head' });
    const charts = el('div', { class: 'nbt-grid nbt-metrics' });
    const system = el('div', { class: 'nbt-grid nbt-system' });
    const kv = el('div', { class: 'nbt-two' });
    const output = el('pre', { class: 'nbt-output' });
    const files = el('div', { class: 'nbt-files' });
    main.replaceChildren(head,
      el('h2', { text: 'Metrics' }),
      el('div', { class: 'nbt-controls' }, xSel, el('label', {}, logBox, ' log scale'), resetBtn,
        el('span', { class: 'nbt-empty', text: 'drag across a chart to zoom' })),
      charts, kv,
      el('h2', { text: 'System metrics' }), system,
      el('h2', { text: 'Console output (tail)' }), output,
      el('h2', { text: 'Files' }), files);
    xSel.addEventListener('change', async () => { st.xaxis = xSel.value; await ensureTimes(); drawMetrics(); });
    logBox.addEventListener('change', () => { st.log = logBox.checked; drawMetrics(); });
    resetBtn.addEventListener('click', async () => { st.zoom = null; resetBtn.disabled = true; await loadHistory(); });

    function renderHead() {
      const r = st.run;
      document.title = `${r.name} — nbtrack`;
      head.replaceChildren(
        el('h1', {}, el('span', { class: 'nbt-run-name', text: r.name }), ' ', badge(r.state)),
        el('div', { class: 'nbt-meta' },
          el('span', { text: `project ${r.project}` }), el('span', { text: `id ${r.id}` }),
          el('span', { class: 'nbt-run-step', 'data-step': r.last_step ?? '', text: `last step ${r.last_step ?? '—'}` }),
          el('span', { text: `created ${r.created_at ? new Date(r.created_at).toLocaleString() : ''}` }),
          el('span', { text: `runtime ${duration(runtimeOf(r))}` }),
          r.exit_code !== null && r.exit_code !== undefined ? el('span', { text: `exit code ${r.exit_code}` }) : null));
      const table = (obj, cls) => {
        const keys = Object.keys(obj || {}).filter((k) => !k.startsWith('_')).sort();
        if (!keys.length) return el('p', { class: 'nbt-empty', text: 'none' });
        return el('table', { class: 'nbt-kv ' + cls }, ...keys.map((k) =>
          el('tr', { 'data-key': k }, el('td', { text: k }), el('td', { text: fmt(obj[k]) }))));
      };
      kv.replaceChildren(
        el('div', {}, el('h2', { text: 'Config' }), table(r.config, 'nbt-config')),
        el('div', {}, el('h2', { text: 'Summary' }), table(r.summary, 'nbt-summary')));
    }
    async function ensureTimes() {
      if (st.xaxis === 'step' || st.times) return;
      const data = await api(base + '/history?keys=_runtime,_timestamp&samples=' + SAMPLES);
      const s = rowsToSeries(data.rows || []);
      st.times = { runtime: s._runtime || { steps: [], values: [] }, wall: s._timestamp || { steps: [], values: [] } };
    }
    const toX = (step) => {
      if (st.xaxis === 'step' || !st.times) return step;
      const t = st.times[st.xaxis];
      return interp(t.steps, t.values, step);
    };
    const toStep = (x) => {
      if (st.xaxis === 'step' || !st.times) return x;
      const t = st.times[st.xaxis];
      return interp(t.values, t.steps, x);
    };
    function drawMetrics() {
      const series = st.history || {};
      const keys = Object.keys(series).filter((k) => !k.startsWith('_')).sort();
      window.nbtrackPages.charts = {};
      if (!keys.length) {
        charts.replaceChildren(el('p', { class: 'nbt-empty', text: 'no metrics logged yet' }));
        return;
      }
      const boxes = keys.map((k, i) => {
        const s = series[k];
        const box = el('div', { class: 'nbt-chart', 'data-key': k, 'data-points': s.steps.length, 'data-skipped': s.skipped || null },
          el('h3', { text: k }, s.skipped ? el('span', { class: 'nbt-nonfinite', text: ` · ${s.skipped} NaN / ±∞ not drawn` }) : null));
        window.nbtrackPages.charts[k] = { steps: s.steps.slice(), values: s.values.slice(), skipped: s.skipped };
        return [box, k, i];
      });
      charts.replaceChildren(...boxes.map((b) => b[0]));
      for (const p of Object.values(st.plots)) p.destroy();
      st.plots = {};
      for (const [box, k, i] of boxes) {
        const s = series[k];
        if (!s.steps.length) { box.dataset.drawn = '0'; continue; }  // only NaN / ±inf
        const xs = s.steps.map(toX);
        const positive = s.values.every((v) => v > 0);
        const opts = {
          scales: { x: { time: st.xaxis === 'wall' }, y: { distr: st.log && positive ? 3 : 1 } },
          series: [{ label: st.xaxis }, { label: k, stroke: COLORS[i % COLORS.length], width: 1.5,
            points: { show: s.steps.length < 60 } }],
          cursor: { drag: { x: true, y: false } },
          legend: { show: true },
          hooks: { setSelect: [(u) => {
            if (u.select.width < 4) return;
            const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, width: 0 }, false);
            zoomTo(Math.floor(toStep(a)), Math.ceil(toStep(b)));
          }] },
        };
        st.plots[k] = makePlot(box, opts, [xs, s.values]);
        box.dataset.drawn = String(st.plots[k].data[1].filter((v) => v !== null).length);
      }
      window.nbtrackPages.ready = true;
    }
    async function zoomTo(a, b) {
      if (!(b > a)) return;
      st.zoom = [a, b];
      resetBtn.disabled = false;
      await loadHistory();
    }
    async function loadHistory() {
      // explicit keys take the server's fast path (points per key, not whole rows)
      const keys = Object.entries((st.run && st.run.summary) || {})
        .filter(([k, v]) => !k.startsWith('_') && num(summaryValue(v)) !== null).map(([k]) => k);
      let q = base + '/history?samples=' + SAMPLES;
      if (keys.length) q += '&keys=' + keys.map(encodeURIComponent).join(',');
      if (st.zoom) q += `&min_step=${st.zoom[0]}&max_step=${st.zoom[1]}`;
      const data = await api(q);
      st.history = rowsToSeries(data.rows || []);
      charts.dataset.zoom = st.zoom ? st.zoom.join(',') : '';
      drawMetrics();
    }
    async function loadSystem() {
      const data = await api(base + '/events');
      const rows = (data.rows || []).slice(-2000);
      const series = {};
      rows.forEach((row, i) => {
        const x = num(row._runtime) ?? num(row._timestamp) ?? i;
        if (!Number.isFinite(x)) return;
        for (const [k, v] of Object.entries(row)) {
          if (k.startsWith('_')) continue;
          const y = num(v);
          if (y === null || !Number.isFinite(y)) continue;  // NaN / ±inf: not drawn
          (series[k] = series[k] || [[], []]);
          series[k][0].push(x); series[k][1].push(y);
        }
      });
      const keys = Object.keys(series).sort();
      if (!keys.length) { system.replaceChildren(el('p', { class: 'nbt-empty', text: 'no system metrics' })); return; }
      system.replaceChildren();
      keys.forEach((k, i) => {
        const box = el('div', { class: 'nbt-chart nbt-system-chart', 'data-key': k }, el('h3', { text: k }));
        system.append(box);
        makePlot(box, { height: 160, series: [{ label: 'runtime (s)' }, { label: k, stroke: COLORS[i % COLORS.length] }],
          scales: { x: { time: false } } }, series[k]);
      });
    }
    async function loadOutput() {
      const data = await api(base + '/output');
      const lines = (data.lines || []).slice(-300);
      output.textContent = lines.length ? lines.join('\n') : '';
      if (!lines.length) output.replaceChildren(el('span', { class: 'nbt-empty', text: 'no console output' }));
      output.scrollTop = output.scrollHeight;
    }
    async function loadFiles() {
      const data = await api(base + '/files');
      const list = data.files || [];
      if (!list.length) { files.replaceChildren(el('p', { class: 'nbt-empty', text: 'no files' })); return; }
      files.replaceChildren(el('table', { class: 'nbt-table nbt-file-list' },
        el('tr', {}, el('th', { text: 'name' }), el('th', { text: 'size' })),
        ...list.map((f) => el('tr', { 'data-file': f.name },
          el('td', {}, el('a', { href: root + 'api/' + base + '/files/' + enc(f.name), download: f.name.split('/').pop(), text: f.name })),
          el('td', { class: 'num', text: `${f.size} B` })))));
    }
    async function loadRun() {
      st.run = await api(base);
      renderHead();
    }
    await loadRun();
    await loadHistory();
    for (const f of [loadSystem, loadOutput, loadFiles]) f().catch((e) => showError(e, main));
    setInterval(async () => {
      if (document.hidden || !st.run || st.run.state !== 'running') return;
      try {
        await loadRun();
        if (!st.zoom) { st.times = null; await ensureTimes(); await loadHistory(); }
        await loadOutput();
      } catch (e) { /* keep what is shown */ }
    }, 4000);
  }

  // ------------------------------------------------------------------ compare
  async function compareView() {
    crumbs.textContent = 'compare';
    const paths = (new URLSearchParams(location.search).get('runs') || '').split(',').filter(Boolean);
    if (paths.length < 1) { main.replaceChildren(el('p', { text: 'select runs in the table to compare them' })); return; }
    const runs = await Promise.all(paths.map((p) => api('runs/' + enc(p))));
    const metricSel = el('select', { class: 'nbt-compare-metric', 'aria-label': 'metric' });
    const logBox = el('input', { type: 'checkbox', class: 'nbt-log' });
    const legend = el('div', { class: 'nbt-legend' });
    const box = el('div', { class: 'nbt-chart nbt-compare-chart' });
    const diff = el('div', { class: 'nbt-diff-wrap' });
    main.replaceChildren(el('h1', { text: `Compare ${runs.length} runs` }),
      el('div', { class: 'nbt-controls' }, metricSel, el('label', {}, logBox, ' log scale')),
      legend, box, el('h2', { text: 'Config keys that differ' }), diff);
    const keys = new Set();
    for (const r of runs) for (const [k, v] of Object.entries(r.summary || {})) {
      if (!k.startsWith('_') && num(summaryValue(v)) !== null) keys.add(k);
    }
    const metrics = [...keys].sort();
    metricSel.replaceChildren(...metrics.map((m) => el('option', { value: m, text: m })));
    const wanted = new URLSearchParams(location.search).get('metric');
    if (wanted && metrics.includes(wanted)) metricSel.value = wanted;
    let plot = null;
    async function draw() {
      const m = metricSel.value;
      if (!m) { box.replaceChildren(el('p', { class: 'nbt-empty', text: 'no common metrics' })); return; }
      const all = await Promise.all(runs.map((r) =>
        api('runs/' + enc(runPath(r)) + '/history?keys=' + encodeURIComponent(m) + '&samples=' + SAMPLES)));
      const per = all.map((d) => rowsToSeries(d.rows || [])[m] || { steps: [], values: [] });
      const steps = [...new Set(per.flatMap((s) => s.steps))].sort((a, b) => a - b);
      const index = new Map(steps.map((s, i) => [s, i]));
      const data = [steps, ...per.map((s) => {
        const col = new Array(steps.length).fill(null);
        s.steps.forEach((st, i) => { col[index.get(st)] = s.values[i]; });
        return col;
      })];
      if (plot) plot.destroy();
      box.replaceChildren(el('h3', { text: m }));
      const positive = per.every((s) => s.values.every((v) => v > 0));
      plot = makePlot(box, {
        height: 320,
        scales: { x: { time: false }, y: { distr: logBox.checked && positive ? 3 : 1 } },
        series: [{ label: 'step' }, ...runs.map((r, i) => ({ label: r.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
      }, data);
      box.dataset.series = String(runs.length);
      box.dataset.metric = m;
      box.dataset.points = per.map((s) => s.steps.length).join(',');
      legend.replaceChildren(...runs.map((r, i) => el('span', { style: `--c:${COLORS[i % COLORS.length]}`, 'data-run': runPath(r) },
        el('a', { href: runHref(r), text: r.name }))));
      window.nbtrackPages.ready = true;
    }
    metricSel.addEventListener('change', draw);
    logBox.addEventListener('change', draw);
    // config keys whose values differ
    const ckeys = [...new Set(runs.flatMap((r) => Object.keys(r.config || {})))].sort();
    const differs = ckeys.filter((k) => new Set(runs.map((r) => JSON.stringify((r.config || {})[k]))).size > 1);
    diff.replaceChildren(differs.length ? el('table', { class: 'nbt-table nbt-diff' },
      el('tr', {}, el('th', { text: 'key' }), ...runs.map((r) => el('th', { text: r.name }))),
      ...differs.map((k) => el('tr', { 'data-key': k }, el('td', { text: k }),
        ...runs.map((r) => el('td', { class: 'nbt-differs', text: fmt((r.config || {})[k]) })))))
      : el('p', { class: 'nbt-empty', text: 'the configs are the same' }));
    await draw();
  }

  const views = { runs: runsView, run: runView, compare: compareView };
  if (views[view]) views[view]().catch((e) => { main.querySelector('.nbt-loading')?.remove(); showError(e); });
})();

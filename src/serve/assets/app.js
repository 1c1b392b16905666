// sluice dashboard: one page, no dependencies, served by `sluice serve` or inlined by
// `sluice report`. Every value from the ledger or from partners' data reaches the page as a
// text node (el() never parses HTML), so a partner header or a rejected value containing markup
// is shown as text.
'use strict';

(function () {
  const STATES = ['failed', 'timed_out', 'upstream_failed', 'cancelled', 'running', 'queued',
    'pending', 'skipped', 'success'];
  const PAGE = 50;
  const dataEl = document.getElementById('sluice-data');
  const REPORT = dataEl ? JSON.parse(dataEl.textContent) : null;
  const app = document.getElementById('app');
  let config = { allow_actions: false, workflow: '' };
  let pollTimer = null;
  // UI state that survives a live refresh of the same page.
  const ui = { expanded: new Set(), pages: {}, filter: {}, selected: null, attempt: {} };

  // ---- DOM helpers ------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    // A link that only runs a handler is a button to keyboards and screen readers.
    if (tag === 'a' && attrs && !attrs.href && attrs.onclick) { node.setAttribute('role', 'button'); node.tabIndex = 0; }
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'class') node.className = v;
      else if (k === 'style') node.style.cssText = v;  // CSSOM: allowed by the page's CSP
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else if (k === 'style') node.style.cssText = v;
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  const badge = (state) => el('span', { class: 'badge state-' + state, 'data-state': state }, state);
  const fmtTime = (ms) => (ms > 0 ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '-');
  function fmtDur(s) {
    if (!(s > 0)) return '-';
    if (s < 60) return s.toFixed(1) + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + Math.round(s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + Math.round((s % 3600) / 60) + 'm';
  }
  const num = (v) => (typeof v === 'number' ? v.toLocaleString('en-US') : v == null ? '-' : String(v));
  const instName = (i) => i.task + (i.partner ? '[' + i.partner + ']' : '');
  const enc = encodeURIComponent;
  function worst(states) {
    let best = STATES.length;
    for (const s of states) {
      const k = STATES.indexOf(s);
      if (k >= 0 && k < best) best = k;
    }
    return best < STATES.length ? STATES[best] : 'none';
  }

  // ---- data --------------------------------------------------------------------------------
  async function api(path) {
    if (REPORT) return reportApi(path);
    const res = await fetch(path, { headers: { Accept: 'application/json' } });
    const type = res.headers.get('Content-Type') || '';
    const body = type.includes('json') ? await res.json() : await res.text();
    if (!res.ok) throw new Error(typeof body === 'object' && body.error ? body.error : String(body));
    return body;
  }
  function reportApi(path) {
    const url = new URL(path, 'http://report/');
    const p = url.searchParams;
    if (url.pathname === '/api/dag') return REPORT.dag;
    if (url.pathname.endsWith('/log')) {
      const key = p.get('task') + '|' + (p.get('partner') || '') + '|' + (p.get('attempt') || '');
      const text = REPORT.logs[key];
      if (text === undefined) throw new Error('this report carries the logs of attempts that did not succeed only');
      return text;
    }
    if (url.pathname.endsWith('/rejects')) {
      const r = REPORT.rejects[p.get('partner') + '|' + p.get('table')];
      if (!r) throw new Error('this report carries no rejected rows for that table');
      return r;
    }
    if (url.pathname.startsWith('/api/runs/')) return REPORT.run;
    throw new Error('not part of this report');
  }

  function token() { return sessionStorage.getItem('sluice-token') || ''; }
  async function post(path, tokenValue) {
    const res = await fetch(path, { method: 'POST', headers: { 'X-Sluice-Token': tokenValue } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.error || res.statusText);
    return body;
  }

  // ---- routing -----------------------------------------------------------------------------
  function route() {
    if (REPORT) return ['run', REPORT.run.run_id];
    const hash = location.hash.replace(/^#\/?/, '');
    const parts = hash.split('/').map(decodeURIComponent);
    return parts[0] ? parts : ['runs'];
  }
  let lastRoute = '';
  // Data of the current run page, reused when only the view changes (expand, page, filter), so
  // a click on a 1,000-partner run does not fetch its instances again.
  let cache = null;
  async function render(refetch = true) {
    clearTimeout(pollTimer);
    if (refetch) cache = null;
    const r = route();
    const key = r.join('/');
    if (key !== lastRoute) {
      ui.expanded = new Set(); ui.pages = {}; ui.selected = null; ui.attempt = {};
      lastRoute = key;
    }
    try {
      if (r[0] === 'runs') await renderRuns();
      else if (r[0] === 'grid') await renderGrid();
      else if (r[0] === 'run') await renderRun(r[1]);
      else if (r[0] === 'partners') await renderPartners();
      else if (r[0] === 'partner') await renderPartner(r[1]);
      else app.replaceChildren(el('p', {}, 'No such page. ', el('a', { href: '#/runs' }, 'Runs')));
    } catch (e) {
      app.replaceChildren(el('h1', {}, 'Error'), el('p', { class: 'error-text', id: 'page-error' }, e.message));
    }
  }
  function live(on) {
    document.getElementById('live').textContent = on ? '\u25cf live' : '';
  }
  function schedule(fn, ms) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(fn, ms);
  }

  // ---- runs --------------------------------------------------------------------------------
  async function renderRuns() {
    const f = ui.filter;
    const q = new URLSearchParams();
    if (f.state) q.set('state', f.state);
    if (f.from) q.set('from', f.from);
    if (f.to) q.set('to', f.to);
    q.set('counts', '1');
    const runs = await api('/api/runs?' + q);
    const stateSel = el('select', { id: 'filter-state', onchange: (e) => { f.state = e.target.value; render(); } },
      el('option', { value: '' }, 'any state'),
      ['running', 'success', 'failed', 'cancelled'].map((s) => el('option', { value: s, selected: f.state === s }, s)));
    const from = el('input', { type: 'date', id: 'filter-from', value: f.from || '', onchange: (e) => { f.from = e.target.value; render(); } });
    const to = el('input', { type: 'date', id: 'filter-to', value: f.to || '', onchange: (e) => { f.to = e.target.value; render(); } });
    const rows = runs.map((r) => {
      const c = r.instance_states || {};
      const counts = Object.keys(c).sort((a, b) => STATES.indexOf(a) - STATES.indexOf(b))
        .map((s) => el('span', { class: 'badge state-' + s, title: s }, c[s] + ' ' + s));
      return el('tr', { 'data-run': r.run_id },
        el('td', {}, el('a', { href: '#/run/' + enc(r.run_id), class: 'run-link' }, r.run_id)),
        el('td', {}, r.date), el('td', {}, badge(r.state),
          r.scheduler_gone ? el('span', { class: 'muted' }, ' scheduler gone') : null),
        el('td', {}, fmtTime(r.started_ms)), el('td', { class: 'num' }, fmtDur(r.duration_seconds)),
        el('td', { class: 'num' }, Array.isArray(r.partners) ? r.partners.length : (r.partner_count ?? '-')), el('td', {}, counts));
    });
    app.replaceChildren(
      el('h1', {}, 'Runs'),
      el('div', { class: 'filters' }, el('label', {}, 'State '), stateSel, el('label', {}, 'From '), from,
        el('label', {}, 'To '), to, el('button', { onclick: () => { ui.filter = {}; render(); } }, 'Clear')),
      runs.length ? el('table', { id: 'runs-table' },
        el('thead', {}, el('tr', {}, ['Run', 'Date', 'State', 'Started (UTC)', 'Duration', 'Partners', 'Instances']
          .map((h) => el('th', {}, h)))),
        el('tbody', {}, rows))
        : el('p', { class: 'muted' }, 'No runs match. Start one with `sluice run DIR`.'));
    // New runs appear by themselves; a running one is followed more closely.
    const running = runs.some((r) => r.state === 'running');
    live(running);
    if (!REPORT) schedule(render, running ? 2000 : 5000);
  }

  // ---- grid --------------------------------------------------------------------------------
  async function renderGrid() {
    const g = await api('/api/grid?limit=20');
    const head = el('tr', {}, el('th', {}, 'Task'),
      g.runs.map((r) => el('th', { title: r.run_id }, el('a', { href: '#/run/' + enc(r.run_id) }, r.date.slice(5)))));
    const body = [];
    for (const t of g.tasks) {
      const partners = Object.keys(t.partners).sort();
      const open = ui.expanded.has('grid:' + t.task);
      const agg = g.runs.map((_, c) => worst(partners.map((p) => t.partners[p][c]).filter(Boolean)));
      body.push(el('tr', { 'data-task': t.task },
        el('td', { class: 'name' }, t.per_partner
          ? el('span', { class: 'toggle', onclick: () => { toggle('grid:' + t.task); } },
            (open ? '\u25be ' : '\u25b8 ') + t.task + ' (' + partners.length + ')')
          : t.task),
        agg.map((s, c) => el('td', {}, el('a', { class: 'cell state-' + s, href: '#/run/' + enc(g.runs[c].run_id), title: s })))));
      if (t.per_partner && open) {
        const page = ui.pages['grid:' + t.task] || 0;
        for (const p of partners.slice(page * PAGE, (page + 1) * PAGE)) {
          body.push(el('tr', { class: 'sub', 'data-partner': p },
            el('td', { class: 'name' }, p),
            t.partners[p].map((s, c) => el('td', {}, el('a', { class: 'cell state-' + (s || 'none'), title: (s || 'not in run'), href: '#/run/' + enc(g.runs[c].run_id) })))));
        }
        if (partners.length > PAGE) body.push(el('tr', { class: 'sub' }, el('td', { colspan: g.runs.length + 1 }, pager('grid:' + t.task, partners.length))));
      }
    }
    app.replaceChildren(el('h1', {}, 'Grid'),
      el('p', { class: 'muted' }, (g.runs.length === 1 ? 'The only run.' : 'Newest ' + g.runs.length + ' runs, oldest left.') + ' Per-partner tasks show their worst instance; expand them for each partner.'),
      legend(), el('table', { class: 'grid', id: 'grid' }, el('thead', {}, head), el('tbody', {}, body)));
    if (g.runs.some((r) => r.state === 'running')) { live(true); schedule(render, 3000); } else live(false);
  }
  function legend() {
    return el('div', { class: 'legend' }, STATES.map((s) => el('span', {}, el('i', { class: 'cell state-' + s }), s)));
  }
  function toggle(key) {
    if (ui.expanded.has(key)) ui.expanded.delete(key); else ui.expanded.add(key);
    render(false);
  }
  function pager(key, total) {
    const page = ui.pages[key] || 0;
    const pages = Math.ceil(total / PAGE);
    const go = (p) => { ui.pages[key] = Math.max(0, Math.min(pages - 1, p)); render(false); };
    return el('div', { class: 'pager' },
      el('button', { disabled: page === 0, onclick: () => go(page - 1) }, '\u2039 Prev'),
      el('span', {}, 'page ' + (page + 1) + ' of ' + pages + ' (' + total + ')'),
      el('button', { disabled: page >= pages - 1, onclick: () => go(page + 1) }, 'Next \u203a'));
  }

  // ---- run ---------------------------------------------------------------------------------
  async function renderRun(runId) {
    const t0 = performance.now();
    let fetched = 0;
    if (!cache || cache.runId !== runId) {
      const [run, dag, actions] = await Promise.all([
        api('/api/runs/' + enc(runId)), api('/api/dag'),
        REPORT ? [] : api('/api/actions?run=' + enc(runId))]);
      fetched = performance.now() - t0;
      cache = { runId, run, dag, actions, model: buildModel(run, dag) };
    }
    const { run, actions, model } = cache;
    const acting = actions.some((a) => a.running);
    const sections = [
      runHeader(run, acting),
      acting ? el('div', { class: 'notice', id: 'action-running' }, actions.filter((a) => a.running)
        .map((a) => 'sluice ' + a.kind + ' (pid ' + a.pid + ') is running\u2026 ')) : null,
      actions.filter((a) => !a.running).slice(-1).map((a) => el('div', { class: 'notice', id: 'action-done' },
        'sluice ' + a.kind + ' finished with exit code ' + a.exit_code + '.')),
      el('h2', {}, 'DAG'), legend(), dagView(model),
      partnerMatrix(model),
      wholeRunTasks(model),
      ui.selected ? instanceDetail(run, model) : null,
      el('h2', {}, 'Gantt'), gantt(model),
      el('h2', {}, 'Rows per partner and table'), summaryTable(run, model),
      el('h2', {}, 'Checks'), checksTable(model),
    ];
    app.replaceChildren(...sections.flat(Infinity).filter(Boolean));
    // For the browser test's timing: fetch (server + transfer + parse) and build of the page.
    window.__sluiceTimings = { fetchMs: Math.round(fetched), totalMs: Math.round(performance.now() - t0) };
    if (ui.selected) loadLog(runId);
    const running = run.state === 'running' || acting;
    live(running && !REPORT);
    if (running && !REPORT) schedule(render, 1000);
  }

  function runHeader(run, acting) {
    const buttons = [];
    if (!REPORT && config.allow_actions) {
      buttons.push(el('button', { id: 'repair-button', class: 'primary', disabled: run.state === 'running' || acting,
        onclick: () => repairDialog(run.run_id) }, 'Repair\u2026'));
      buttons.push(el('button', { id: 'cancel-button', class: 'danger', disabled: run.state !== 'running',
        onclick: () => cancelDialog(run.run_id) }, 'Cancel\u2026'));
    }
    const failed = run.instances.filter((i) => ['failed', 'timed_out', 'upstream_failed'].includes(i.state)).length;
    return [
      el('div', { class: 'runhead' }, el('h1', {}, 'Run ', el('span', { id: 'run-id' }, run.run_id)),
        el('span', { id: 'run-state' }, badge(run.state)), el('div', { class: 'actions' }, buttons)),
      el('div', { class: 'facts' },
        el('span', {}, 'workflow ', el('b', {}, run.workflow)), el('span', {}, 'date ', el('b', {}, run.date)),
        el('span', {}, 'started ', el('b', {}, fmtTime(run.started_ms))),
        el('span', {}, 'duration ', el('b', {}, fmtDur(run.duration_seconds))),
        el('span', {}, 'instances ', el('b', {}, run.instances.length)),
        failed ? el('span', {}, 'not succeeded ', el('b', {}, failed)) : null,
        REPORT ? el('span', {}, 'report written ', el('b', {}, new Date().toISOString().slice(0, 19))) : null),
    ];
  }

  // Instances by task, partners, instance-level dependencies and the critical path.
  function buildModel(run, dag) {
    const byTask = new Map();
    for (const i of run.instances) {
      if (!byTask.has(i.task)) byTask.set(i.task, []);
      byTask.get(i.task).push(i);
    }
    let nodes = dag.nodes || [];
    if (!nodes.length) {  // no workflow loaded: one column of the tasks seen in the run
      nodes = [...byTask.keys()].map((t, k) => ({ task: t, layer: 0, row: k, depends_on: [],
        per_partner: byTask.get(t).some((i) => i.partner) }));
    }
    const partners = [...new Set(run.instances.filter((i) => i.partner).map((i) => i.partner))].sort();
    const perPartnerTasks = nodes.filter((n) => n.per_partner).map((n) => n.task).filter((t) => byTask.has(t));
    const key = (t, p) => t + '\u0000' + p;
    const index = new Map(run.instances.map((i) => [key(i.task, i.partner), i]));
    const nodeOf = new Map(nodes.map((n) => [n.task, n]));
    function deps(i) {
      const n = nodeOf.get(i.task);
      if (!n) return [];
      const out = [];
      for (const u of n.depends_on) {
        const un = nodeOf.get(u);
        if (!un) continue;
        if (un.per_partner && n.per_partner) { const d = index.get(key(u, i.partner)); if (d) out.push(d); }
        else if (un.per_partner) out.push(...(byTask.get(u) || []));
        else { const d = index.get(key(u, '')); if (d) out.push(d); }
      }
      return out;
    }
    // Critical path: from the instance that ended last, back through the upstream that ended last.
    const critical = new Set();
    let cur = null;
    for (const i of run.instances) if (i.ended_ms > 0 && (!cur || i.ended_ms > cur.ended_ms)) cur = i;
    while (cur && !critical.has(cur)) {
      critical.add(cur);
      let next = null;
      for (const d of deps(cur)) if (d.ended_ms > 0 && (!next || d.ended_ms > next.ended_ms)) next = d;
      cur = next;
    }
    const m = { run, nodes, byTask, partners, perPartnerTasks, index, key, critical };
    // Computed once per fetch, not per click: a 1,000-partner run has thousands of rows.
    m.rank = new Map(partners.map((p) => [p, Math.min(...perPartnerTasks.map((t) => {
      const i = index.get(key(t, p));
      return i ? STATES.indexOf(i.state) : STATES.length;
    }))]));
    m.merges = mergeRows(m);
    m.checks = checkResults(m);
    return m;
  }

  function dagView(m) {
    const W = 172, H = 56, GX = 46, GY = 18, M = 14;
    const layers = Math.max(1, ...m.nodes.map((n) => n.layer + 1));
    const rows = Math.max(1, ...m.nodes.map((n) => n.row + 1));
    const pos = new Map(m.nodes.map((n) => [n.task, { x: M + n.layer * (W + GX), y: M + n.row * (H + GY) }]));
    const width = 2 * M + layers * W + (layers - 1) * GX, height = 2 * M + rows * H + (rows - 1) * GY;
    const edges = [], boxes = [];
    for (const n of m.nodes) {
      const b = pos.get(n.task);
      for (const d of n.depends_on) {
        const a = pos.get(d);
        if (!a) continue;
        edges.push(svg('path', { d: `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}`,
          fill: 'none', stroke: '#667', 'marker-end': 'url(#arr)' }));
      }
      const inst = m.byTask.get(n.task) || [];
      const state = worst(inst.map((i) => i.state));
      const counts = {};
      for (const i of inst) counts[i.state] = (counts[i.state] || 0) + 1;
      const order = Object.keys(counts).sort((a, b) => STATES.indexOf(a) - STATES.indexOf(b));
      const line2 = n.per_partner ? inst.length + ' partners' : (inst[0] ? inst[0].state : 'not in run');
      const line3 = n.per_partner ? order.map((s) => counts[s] + ' ' + s).join(', ') : '';
      const summary = line2 + (line3 ? ': ' + line3 : '');
      const sel = ui.expanded.has('dag:' + n.task);
      const dark = ['pending', 'skipped', 'none'].includes(state);
      boxes.push(svg('g', { class: 'node' + (sel ? ' selected' : ''), 'data-task': n.task, 'data-state': state,
        onclick: () => (n.per_partner ? toggle('dag:' + n.task) : selectInstance(n.task, '')) },
      n.per_partner ? svg('rect', { x: b.x + 4, y: b.y - 4, width: W, height: H, rx: 5, class: 'state-' + state, style: 'fill:var(--' + (state === 'none' ? 'pending' : state) + ');opacity:.5' }) : null,
      svg('rect', { x: b.x, y: b.y, width: W, height: H, rx: 5, class: 'box', style: 'fill:var(--' + (state === 'none' ? 'pending' : state) + ')' }),
      svg('text', { x: b.x + 8, y: b.y + 17, fill: dark ? '#222' : '#fff', 'font-weight': 600 }, n.task),
      svg('text', { x: b.x + 8, y: b.y + 33, fill: dark ? '#222' : '#eef', 'font-size': 11 }, line2),
      line3 ? svg('text', { x: b.x + 8, y: b.y + 48, fill: dark ? '#222' : '#eef', 'font-size': 11 },
        line3.length > 30 ? line3.slice(0, 29) + '\u2026' : line3) : null,
      svg('title', {}, n.task + ': ' + summary)));
    }
    const drawing = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}` },
      svg('defs', {}, svg('marker', { id: 'arr', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
        svg('path', { d: 'M0,0L10,5L0,10z', fill: '#667' }))), edges, boxes);
    const open = m.nodes.filter((n) => n.per_partner && ui.expanded.has('dag:' + n.task));
    return [el('div', { class: 'dag', id: 'dag' }, drawing),
      open.map((n) => {
        const inst = (m.byTask.get(n.task) || []).slice().sort((a, b) => STATES.indexOf(a.state) - STATES.indexOf(b.state) || a.partner.localeCompare(b.partner));
        const k = 'dagchips:' + n.task, page = ui.pages[k] || 0;
        return el('div', { class: 'panel', 'data-expanded': n.task }, el('b', {}, n.task), ' \u2014 each partner (worst first)',
          el('div', { class: 'chips' }, inst.slice(page * PAGE * 4, (page + 1) * PAGE * 4).map((i) =>
            el('a', { class: 'chip state-' + i.state, title: i.state, onclick: () => selectInstance(i.task, i.partner) }, i.partner))),
          inst.length > PAGE * 4 ? pagerN(k, inst.length, PAGE * 4) : null);
      })];
  }
  function pagerN(key, total, size) {
    const page = ui.pages[key] || 0, pages = Math.ceil(total / size);
    const go = (p) => { ui.pages[key] = Math.max(0, Math.min(pages - 1, p)); render(false); };
    return el('div', { class: 'pager' }, el('button', { disabled: page === 0, onclick: () => go(page - 1) }, '\u2039'),
      el('span', {}, (page + 1) + ' / ' + pages), el('button', { disabled: page >= pages - 1, onclick: () => go(page + 1) }, '\u203a'));
  }

  // Partners x per-partner tasks: each partner's chain in one row, failing partners first.
  function partnerMatrix(m) {
    if (!m.partners.length) return null;
    const f = ui.filter;
    const rank = (p) => m.rank.get(p);
    let list = m.partners.filter((p) => !f.partner || p.toLowerCase().includes(f.partner.toLowerCase()));
    if (f.failing) list = list.filter((p) => rank(p) <= STATES.indexOf('upstream_failed'));
    list.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const k = 'matrix', page = Math.min(ui.pages[k] || 0, Math.max(0, Math.ceil(list.length / PAGE) - 1));
    const rows = list.slice(page * PAGE, (page + 1) * PAGE).map((p) => el('tr', { 'data-partner': p },
      el('td', {}, REPORT ? p : el('a', { href: '#/partner/' + enc(p) }, p)),
      m.perPartnerTasks.map((t) => {
        const i = m.index.get(m.key(t, p));
        const s = i ? i.state : 'none';
        return el('td', { class: 'cellwrap' }, el('a', { class: 'cell state-' + s, 'data-task': t, 'data-partner': p, 'data-state': s,
          title: t + '[' + p + ']: ' + s + (i && i.attempts > 1 ? ' after ' + i.attempts + ' attempts' : ''),
          onclick: () => i && selectInstance(t, p) }));
      })));
    const filterBox = el('input', { id: 'partner-filter', placeholder: 'filter partners', value: f.partner || '',
      onchange: (e) => { f.partner = e.target.value; ui.pages[k] = 0; render(false); } });
    return [el('h2', {}, 'Partners (' + m.partners.length + ')'),
      el('div', { class: 'filters' }, filterBox,
        el('label', {}, el('input', { type: 'checkbox', id: 'only-failing', checked: !!f.failing, onchange: (e) => { f.failing = e.target.checked; ui.pages[k] = 0; render(false); } }), ' only partners that did not succeed')),
      el('table', { class: 'matrix', id: 'partner-matrix' }, el('thead', {}, el('tr', {}, el('th', {}, 'Partner'), m.perPartnerTasks.map((t) => el('th', {}, t)))),
        el('tbody', {}, rows)),
      list.length > PAGE ? pager(k, list.length) : null];
  }

  function wholeRunTasks(m) {
    const list = m.run.instances.filter((i) => !i.partner);
    if (!list.length) return null;
    return [el('h2', {}, 'Whole-run tasks'), el('div', { class: 'chips' }, list.map((i) =>
      el('a', { class: 'chip state-' + i.state, 'data-task': i.task, onclick: () => selectInstance(i.task, '') }, i.task + ': ' + i.state)))];
  }

  function selectInstance(task, partner) {
    ui.selected = { task, partner };
    render(false).then(() => {
      const d = document.getElementById('instance-detail');
      if (d) d.scrollIntoView({ block: 'start' });
    });
  }

  function instanceDetail(run, m) {
    const { task, partner } = ui.selected;
    const i = m.index.get(m.key(task, partner));
    if (!i) return null;
    const chosen = ui.attempt[instName(i)] || (i.history.length ? i.history[i.history.length - 1].attempt : 0);
    return el('div', { class: 'panel', id: 'instance-detail', 'data-task': task, 'data-partner': partner },
      el('h2', {}, instName(i), ' ', badge(i.state), el('button', { style: 'float:right', onclick: () => { ui.selected = null; render(false); } }, 'Close')),
      i.error ? el('p', { class: 'error-text', id: 'instance-error' }, i.error) : null,
      i.progress ? el('p', { id: 'instance-progress' }, 'progress: ' + num(i.progress.bytes_done) + ' bytes' +
        (i.progress.bytes_total > 0 ? ' of ' + num(i.progress.bytes_total) + ' (' + Math.round(100 * i.progress.bytes_done / i.progress.bytes_total) + '%)' : '') +
        (i.progress.rows_done > 0 ? ', ' + num(i.progress.rows_done) + ' rows' : '') + (i.progress.note ? ' \u2014 ' + i.progress.note : '')) : null,
      el('table', {}, el('thead', {}, el('tr', {}, ['Attempt', 'State', 'Started', 'Duration', 'Exit', 'Error'].map((h) => el('th', {}, h)))),
        el('tbody', {}, i.history.map((a) => el('tr', {},
          el('td', {}, el('a', { class: 'attempt-link', onclick: () => { ui.attempt[instName(i)] = a.attempt; render(false); } }, '#' + a.attempt + (a.attempt === chosen ? ' \u25c2' : ''))),
          el('td', {}, badge(a.state)), el('td', {}, fmtTime(a.started_ms)),
          el('td', { class: 'num' }, fmtDur(a.started_ms > 0 ? ((a.ended_ms || Date.now()) - a.started_ms) / 1000 : 0)),
          el('td', {}, a.signal ? 'signal ' + a.signal : a.exit_code), el('td', { class: 'error-text' }, (a.error || '').split('\n')[0]))))),
      chosen ? [el('h3', {}, 'Log of attempt #' + chosen),
        el('pre', { class: 'log', id: 'log', 'data-attempt': chosen }, 'loading\u2026')] : el('p', { class: 'muted' }, 'No attempt yet.'));
  }
  async function loadLog(runId) {
    const pre = document.getElementById('log');
    if (!pre) return;
    const { task, partner } = ui.selected;
    try {
      const text = await api('/api/runs/' + enc(runId) + '/log?task=' + enc(task) + '&partner=' + enc(partner) + '&attempt=' + enc(pre.dataset.attempt));
      pre.textContent = text || '(empty log)';
    } catch (e) {
      pre.textContent = e.message;
    }
  }

  function gantt(m) {
    const inst = m.run.instances.filter((i) => i.started_ms > 0);
    if (!inst.length) return el('p', { class: 'muted' }, 'Nothing has started yet.');
    const t0 = Math.min(...inst.map((i) => i.started_ms));
    const now = Date.now();
    const t1 = Math.max(...inst.map((i) => i.ended_ms || now), ...inst.flatMap((i) => i.history.map((a) => a.ended_ms || now)));
    const span = Math.max(1, t1 - t0);
    const pct = (ms) => (100 * (ms - t0) / span).toFixed(3) + '%';
    const bars = (list) => list.flatMap((i) => i.history.filter((a) => a.started_ms > 0).map((a) =>
      el('div', { class: 'bar state-' + a.state + (m.critical.has(i) ? ' critical' : ''), 'data-attempt': a.attempt,
        style: 'left:' + pct(a.started_ms) + ';width:calc(' + pct((a.ended_ms || now)) + ' - ' + pct(a.started_ms) + ')',
        title: instName(i) + ' attempt ' + a.attempt + ': ' + a.state + ', ' + fmtDur(((a.ended_ms || now) - a.started_ms) / 1000) }))).flat();
    const rows = [];
    for (const n of m.nodes) {
      const list = (m.byTask.get(n.task) || []).filter((i) => i.started_ms > 0).sort((a, b) => a.started_ms - b.started_ms);
      if (!list.length) continue;
      if (!n.per_partner) {
        const i = list[0];
        rows.push(ganttRow(i.task, bars([i]), m.critical.has(i), i.attempts, () => selectInstance(i.task, '')));
        continue;
      }
      const k = 'gantt:' + n.task, open = ui.expanded.has(k);
      const retried = list.filter((i) => i.history.length > 1).length;
      rows.push(el('div', { class: 'row' + (list.some((i) => m.critical.has(i)) ? ' critical' : ''), 'data-task': n.task },
        el('div', { class: 'label toggle', onclick: () => toggle(k) }, (open ? '\u25be ' : '\u25b8 ') + n.task + ' (' + list.length + (retried ? ', ' + retried + ' retried' : '') + ')'),
        el('div', { class: 'track' }, list.length <= 400 ? bars(list) : bars(list.filter((i) => m.critical.has(i) || i.history.length > 1 || i.state !== 'success').slice(0, 400)))));
      if (open) {
        const page = ui.pages[k] || 0;
        for (const i of list.slice(page * PAGE, (page + 1) * PAGE)) {
          rows.push(ganttRow('  ' + i.partner, bars([i]), m.critical.has(i), i.attempts, () => selectInstance(i.task, i.partner), i));
        }
        if (list.length > PAGE) rows.push(pager(k, list.length));
      }
    }
    return el('div', { class: 'gantt', id: 'gantt' },
      el('div', { class: 'axis' }, el('span', {}, fmtTime(t0)), el('span', {}, fmtDur(span / 1000)), el('span', {}, fmtTime(t1))),
      rows, el('p', { class: 'muted' }, '\u2605 critical path (the chain that ended last). Each attempt is one bar; a retried instance shows several.'));
  }
  function ganttRow(label, barList, critical, attempts, onclick, i) {
    return el('div', { class: 'row' + (critical ? ' critical' : ''), 'data-instance': i ? instName(i) : label.trim(), 'data-attempts': attempts },
      el('div', { class: 'label' }, el('a', { onclick }, label), attempts > 1 ? ' \u00d7' + attempts : ''),
      el('div', { class: 'track' }, barList));
  }

  // Merge results: one table ({table, rows_*}) or several ({tables: {name: stats}}).
  function mergeRows(m) {
    const rows = [];
    for (const i of m.run.instances) {
      const r = i.result || {};
      const add = (table, s) => {
        if (!s || typeof s !== 'object' || s.rows_read === undefined) return;
        rows.push({ partner: i.partner, table, task: i.task, ...s });
      };
      if (r.tables && typeof r.tables === 'object') for (const [t, s] of Object.entries(r.tables)) add(t, s);
      else if (r.table) add(r.table, r);
    }
    return rows.sort((a, b) => (b.rows_rejected || 0) - (a.rows_rejected || 0) || a.partner.localeCompare(b.partner) || a.table.localeCompare(b.table));
  }
  // A merge's column drift for a table cell: the new columns, then the missing ones.
  function columnDrift(r) {
    const parts = [];
    if (Array.isArray(r.columns_extra) && r.columns_extra.length) parts.push(r.columns_extra.join(', '));
    if (Array.isArray(r.columns_missing) && r.columns_missing.length) parts.push('missing: ' + r.columns_missing.join(', '));
    return parts.join('; ');
  }
  function summaryTable(run, m) {
    const rows = m.merges;
    if (!rows.length) return el('p', { class: 'muted' }, 'No merge has reported rows yet.');
    const k = 'summary', page = ui.pages[k] || 0;
    const tot = (key) => rows.reduce((s, r) => s + (r[key] || 0), 0);
    const cols = ['rows_read', 'rows_loaded', 'rows_inserted', 'rows_updated', 'rows_rejected'];
    const openRejects = [...ui.expanded].filter((x) => x.startsWith('rejects:'));
    return [el('table', { id: 'summary-table' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Partner'), el('th', {}, 'Table'), cols.map((c) => el('th', { class: 'num' }, c.replace('rows_', ''))), el('th', {}, 'New / missing columns'), el('th', {}, ''))),
      el('tbody', {}, rows.slice(page * PAGE, (page + 1) * PAGE).map((r) => el('tr', { 'data-partner': r.partner, 'data-table': r.table },
        el('td', {}, r.partner), el('td', {}, r.table), cols.map((c) => el('td', { class: 'num' }, num(r[c]))),
        el('td', { class: 'new-columns' }, columnDrift(r)),
        el('td', {}, r.rows_rejected > 0 ? el('a', { class: 'rejects-link', onclick: () => toggle('rejects:' + r.partner + '|' + r.table) }, 'rejects') : ''))),
      el('tr', {}, el('th', {}, 'total'), el('th', {}, rows.length + ' tables'), cols.map((c) => el('th', { class: 'num' }, num(tot(c)))), el('th', {}), el('th', {})))),
    rows.length > PAGE ? pager(k, rows.length) : null,
    openRejects.map((x) => rejectsPanel(run.run_id, x.slice(8)))];
  }
  function rejectsPanel(runId, key) {
    const [partner, table] = key.split('|');
    const box = el('div', { class: 'panel rejects', 'data-partner': partner, 'data-table': table }, 'loading rejects\u2026');
    api('/api/runs/' + enc(runId) + '/rejects?partner=' + enc(partner) + '&table=' + enc(table) + '&limit=20').then((r) => {
      box.replaceChildren(el('b', {}, 'Rejected rows of ' + partner + '.' + table), ' ',
        REPORT ? el('span', { class: 'muted' }, r.file) : el('a', { href: '/api/runs/' + enc(runId) + '/rejects.csv?partner=' + enc(partner) + '&table=' + enc(table) }, r.file),
        el('table', {}, el('thead', {}, el('tr', {}, r.header.map((h) => el('th', {}, h)))),
          el('tbody', {}, r.rows.map((row) => el('tr', {}, row.map((v) => el('td', {}, v)))))),
        r.truncated ? el('p', { class: 'muted' }, 'first ' + r.rows.length + ' rows; the file has more') : null);
    }).catch((e) => box.replaceChildren(el('span', { class: 'error-text' }, e.message)));
    return box;
  }
  // Check results of the run's check tasks (a failed check task's last attempt has them too).
  function checkResults(m) {
    const results = [];
    for (const i of m.run.instances) {
      const last = i.history.length ? i.history[i.history.length - 1] : null;
      const r = (i.result && i.result.checks) ? i.result : (last && last.result) || {};
      if (Array.isArray(r.checks)) for (const c of r.checks) results.push(c);
    }
    return results.sort((a, b) => Number(a.passed) - Number(b.passed));
  }
  function checksTable(m) {
    const results = m.checks;
    if (!results.length) return el('p', { class: 'muted' }, 'No check results in this run.');
    const k = 'checks', page = ui.pages[k] || 0;
    return [el('table', { id: 'checks-table' }, el('thead', {}, el('tr', {}, ['Partner', 'Table', 'Check', 'Severity', 'Result', 'Message'].map((h) => el('th', {}, h)))),
      el('tbody', {}, results.slice(page * PAGE, (page + 1) * PAGE).map((c) => el('tr', {},
        el('td', {}, c.partner), el('td', {}, c.table), el('td', {}, c.check), el('td', {}, c.severity),
        el('td', {}, badge(c.passed ? 'success' : (c.severity === 'warn' ? 'upstream_failed' : 'failed'))),
        el('td', {}, c.message))))), results.length > PAGE ? pager(k, results.length) : null];
  }

  // ---- actions -----------------------------------------------------------------------------
  function showDialog(...children) {
    const d = document.getElementById('dialog');
    d.replaceChildren(el('div', { class: 'box', role: 'dialog' }, children));
    d.hidden = false;
  }
  function closeDialog() { const d = document.getElementById('dialog'); d.hidden = true; d.replaceChildren(); }
  function tokenField() {
    return el('p', {}, el('label', {}, 'Token (SLUICE_SERVE_TOKEN) ',
      el('input', { type: 'password', id: 'token-input', value: token(), autocomplete: 'off' })));
  }
  async function repairDialog(runId) {
    showDialog(el('p', {}, 'Working out the plan\u2026'));
    let plan;
    try {
      plan = await api('/api/runs/' + enc(runId) + '/repair-plan');
    } catch (e) {
      showDialog(el('p', { class: 'error-text' }, e.message), el('button', { onclick: closeDialog }, 'Close'));
      return;
    }
    const msg = el('p', { id: 'dialog-message', class: 'error-text' });
    showDialog(el('h2', {}, 'Repair run ' + runId),
      plan.rerun.length ? el('p', {}, 'These ' + plan.rerun.length + ' instance(s) will run again; successes are kept:')
        : el('p', {}, 'Nothing failed: there is nothing to re-run.'),
      el('ul', { id: 'repair-plan' }, plan.rerun.map((r) => el('li', {}, r))),
      plan.recovered.length ? el('p', { class: 'muted' }, 'Attempts left by a dead scheduler will be resolved first: ' + plan.recovered.join(', ')) : null,
      tokenField(), msg,
      el('div', { class: 'filters' },
        el('button', { id: 'repair-confirm', class: 'primary', disabled: !plan.rerun.length && !plan.recovered.length, onclick: async () => {
          const t = document.getElementById('token-input').value;
          try {
            await post('/api/runs/' + enc(runId) + '/repair', t);
            sessionStorage.setItem('sluice-token', t);
            closeDialog();
            render();
          } catch (e) { msg.textContent = e.message; }
        } }, 'Run repair'),
        el('button', { onclick: closeDialog }, 'Close')));
  }
  function cancelDialog(runId) {
    const msg = el('p', { id: 'dialog-message', class: 'error-text' });
    showDialog(el('h2', {}, 'Cancel run ' + runId), el('p', {}, 'Running attempts are stopped; instances not started will not run.'),
      tokenField(), msg, el('div', { class: 'filters' },
        el('button', { id: 'cancel-confirm', class: 'danger', onclick: async () => {
          const t = document.getElementById('token-input').value;
          try { await post('/api/runs/' + enc(runId) + '/cancel', t); sessionStorage.setItem('sluice-token', t); closeDialog(); render(); } catch (e) { msg.textContent = e.message; }
        } }, 'Cancel the run'), el('button', { onclick: closeDialog }, 'Close')));
  }

  // ---- partners ----------------------------------------------------------------------------
  async function renderPartners() {
    const { partners } = await api('/api/partners');
    app.replaceChildren(el('h1', {}, 'Partners (' + partners.length + ')'),
      el('table', { id: 'partners-table' }, el('thead', {}, el('tr', {}, ['Partner', 'Name', 'Tables', 'Enabled'].map((h) => el('th', {}, h)))),
        el('tbody', {}, partners.map((p) => el('tr', {}, el('td', {}, el('a', { href: '#/partner/' + enc(p.id) }, p.id)), el('td', {}, p.name),
          el('td', {}, p.tables.join(', ')), el('td', {}, p.enabled ? 'yes' : 'no'))))));
    live(false);
  }
  async function renderPartner(id) {
    const p = await api('/api/partners/' + enc(id));
    const loadCols = p.loads.length ? Object.keys(p.loads[0]) : [];
    const tasks = [...new Set(p.recent.flatMap((r) => Object.keys(r.tasks)))];
    const merges = p.recent.flatMap((r) => (r.merged || []).map((x) => ({ run_id: r.run_id, date: r.date, ...x })));
    app.replaceChildren(el('h1', {}, 'Partner ', el('span', { id: 'partner-id' }, p.id), ' ', el('span', { class: 'muted' }, p.name)),
      el('h2', {}, 'Tables'),
      el('table', { id: 'partner-tables' }, el('thead', {}, el('tr', {}, ['Table', 'Rows', 'Columns', 'Drift'].map((h) => el('th', {}, h)))),
        el('tbody', {}, p.tables.map((t) => el('tr', {}, el('td', {}, t.table), el('td', { class: 'num' }, t.exists ? num(t.rows) : 'not created yet'),
          el('td', {}, (t.columns || []).length), el('td', {},
            (t.extra_columns || []).length ? 'in the table, not the schema: ' + t.extra_columns.join(', ') + '. ' : '',
            (t.missing_columns || []).length ? 'in the schema, not the table: ' + t.missing_columns.join(', ') : '',
            !(t.extra_columns || []).length && !(t.missing_columns || []).length && t.exists ? 'none' : ''))))),
      el('h2', {}, 'Recent loads'),
      p.loads.length ? el('table', { id: 'partner-loads' }, el('thead', {}, el('tr', {}, loadCols.map((c) => el('th', {}, c)))),
        el('tbody', {}, p.loads.map((l) => el('tr', {}, loadCols.map((c) => el('td', {}, l[c]))))))
        : null,
      merges.length ? el('h3', {}, 'Rows merged, per run and table') : null,
      merges.length ? el('table', { id: 'partner-merges' }, el('thead', {}, el('tr', {}, ['Run', 'Date', 'Table', 'Loaded', 'Updated', 'Rejected', 'New / missing columns'].map((h) => el('th', {}, h)))),
        el('tbody', {}, merges.map((x) => el('tr', {}, el('td', {}, el('a', { href: '#/run/' + enc(x.run_id) }, x.run_id)), el('td', {}, x.date), el('td', {}, x.table),
          el('td', { class: 'num' }, num(x.rows_loaded)), el('td', { class: 'num' }, num(x.rows_updated)), el('td', { class: 'num' }, num(x.rows_rejected)),
          el('td', {}, columnDrift(x))))))
        : (p.loads.length ? null : el('p', { class: 'muted' }, 'No loads recorded yet.')),
      el('h2', {}, 'Recent runs'),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'Run'), el('th', {}, 'Date'), tasks.map((t) => el('th', {}, t)))),
        el('tbody', {}, p.recent.map((r) => el('tr', {}, el('td', {}, el('a', { href: '#/run/' + enc(r.run_id) }, r.run_id)), el('td', {}, r.date),
          tasks.map((t) => el('td', {}, r.tasks[t] ? el('span', { class: 'cell state-' + r.tasks[t], title: r.tasks[t] }) : '')))))));
    live(false);
  }

  // ---- start -------------------------------------------------------------------------------
  async function start() {
    if (REPORT) {
      document.getElementById('nav').hidden = true;
      document.getElementById('pipeline-name').textContent = 'report \u00b7 ' + REPORT.run.workflow;
    } else {
      try { config = await api('/api/config'); } catch (e) { /* the pages say what fails */ }
      document.getElementById('pipeline-name').textContent = config.workflow + (config.allow_actions ? ' \u00b7 actions on' : '');
      window.addEventListener('hashchange', render);
    }
    await render();
    document.body.dataset.ready = '1';
  }
  start();
}());

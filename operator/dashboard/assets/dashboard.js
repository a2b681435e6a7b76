// The IrisDB dashboard page: polls /dashboard/api/view (DashboardView,
// operator/dashboard/view.ts) once a second and redraws. No framework and no
// external asset: text goes in with textContent only, charts are drawn on
// canvas, the slot map is SVG with one data-first/data-last rect per run of
// slots so tests (and users' tools) can read who owns what from the DOM.
// A classic script (see index.html), wrapped so it adds no globals.
(() => {
'use strict';

// ?refresh=MS polls faster or slower (at least every 200 ms).
const PARAMS = new URLSearchParams(location.search);
const POLL_MS = Math.max(200, Number(PARAMS.get('refresh')) || 1000);
// ?cluster=KEY: which cluster, where the control plane runs several (the operator); default the first.
const CLUSTER = PARAMS.get('cluster');
const SVG = 'http://www.w3.org/2000/svg';
const MAP_COLS = 256;
const CELL = 3;
const SHARD_COLORS = ['#3b82f6', '#10b981', '#f59e0b', '#8b5cf6', '#ef4444', '#14b8a6', '#ec4899', '#84cc16', '#6366f1', '#f97316', '#06b6d4', '#a855f7'];
const NODE_COLORS = ['#2563eb', '#059669', '#d97706', '#7c3aed', '#dc2626', '#0d9488', '#db2777', '#65a30d', '#4f46e5', '#ea580c', '#0891b2', '#9333ea'];

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v; // CSSOM, which the CSP allows (style attributes in markup it would not)
    else if (k.startsWith('data-')) e.setAttribute(k, String(v));
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function svg(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

const shardColor = (shards, id) => SHARD_COLORS[Math.max(0, shards.findIndex((s) => s.id === id)) % SHARD_COLORS.length];

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

const time = (ms) => new Date(ms).toLocaleTimeString();

function renderHeader(view) {
  const st = view.status;
  $('cluster').textContent = st.cluster;
  const phase = $('phase');
  phase.textContent = st.phase;
  phase.dataset.phase = st.phase;
  const nodes = st.shards.reduce((n, s) => n + s.nodes.length, 0);
  $('summary').textContent = `${st.shards.length} shards · ${nodes} nodes · map epoch ${st.mapEpoch} · ${st.slotsAssigned}/${view.slotCount} slots · ${time(view.generatedAt)}`;
  $('messages').replaceChildren(...st.messages.map((m) => el('li', {}, m)));
  renderClusterLinks(view.clusters, view.cluster);
}

function renderClusterLinks(keys, current) {
  $('clusters').replaceChildren(...(keys.length < 2 ? [] : keys.map((k) => {
    const q = new URLSearchParams(PARAMS);
    q.set('cluster', k);
    return el('a', { href: `?${q}`, 'data-cluster': k, 'data-current': k === current }, k);
  })));
}

/** The cells of slots first..last on the MAP_COLS-wide grid, as at most three rects (a partial row, full rows, a partial row). */
function rowRects(first, last) {
  const out = [];
  let s = first;
  while (s <= last) {
    const row = Math.floor(s / MAP_COLS);
    const col = s % MAP_COLS;
    if (col === 0 && last - s + 1 >= MAP_COLS) {
      const rows = Math.floor((last - s + 1) / MAP_COLS);
      out.push({ x: 0, y: row, w: MAP_COLS, h: rows });
      s += rows * MAP_COLS;
    } else {
      const end = Math.min(last, (row + 1) * MAP_COLS - 1);
      out.push({ x: col, y: row, w: end - s + 1, h: 1 });
      s = end + 1;
    }
  }
  return out;
}

function rangeGroup(first, last, attrs) {
  const g = svg('g', { ...attrs, 'data-first': first, 'data-last': last });
  for (const r of rowRects(first, last)) g.append(svg('rect', { x: r.x * CELL, y: r.y * CELL, width: r.w * CELL, height: r.h * CELL }));
  const title = svg('title');
  title.textContent = `${attrs['data-shard'] ?? `${attrs['data-from']} → ${attrs['data-to']}`}: slots ${first}-${last}`;
  g.append(title);
  return g;
}

function renderSlotMap(view) {
  const shards = view.status.shards;
  const map = $('slot-map');
  const defs = svg('defs');
  const hatch = svg('pattern', { id: 'migrating-hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
  // Stripes over the owner's colour: the slots still belong to `from` until the move commits.
  hatch.append(svg('rect', { width: 2, height: 6, fill: '#111827', 'fill-opacity': 0.7 }));
  defs.append(hatch);
  const owners = svg('g', { id: 'slot-owners' });
  for (const s of shards) {
    for (const [first, last] of s.slots) owners.append(rangeGroup(first, last, { 'data-shard': s.id, fill: shardColor(shards, s.id), class: 'owned' }));
  }
  const moving = svg('g', { id: 'slot-migrating' });
  if (view.migrating !== null) {
    for (const [first, last] of view.migrating.slots) {
      moving.append(rangeGroup(first, last, { 'data-from': view.migrating.from, 'data-to': view.migrating.to, class: 'migrating' }));
    }
  }
  map.replaceChildren(defs, owners, moving);
  const migratingCount = view.migrating === null ? 0 : view.migrating.slots.reduce((n, [a, b]) => n + b - a + 1, 0);
  $('slot-summary').textContent = `${view.status.slotsAssigned} of ${view.slotCount} assigned${migratingCount > 0 ? ` · ${migratingCount} moving ${view.migrating.from} → ${view.migrating.to} (hatched)` : ''}`;
  $('slot-legend').replaceChildren(...shards.map((s) => el('span', {},
    el('span', { class: 'swatch', style: `background:${shardColor(shards, s.id)}` }), `${s.id} (${s.slotCount})${s.leaving ? ' leaving' : ''}`)));
}

function nodeRow(n) {
  const lag = n.lagOps === null ? '–' : `${n.lagOps} ops / ${n.lagMs} ms`;
  return el('tr', { 'data-node': n.name, 'data-role': n.role, 'data-up': n.up },
    el('td', { class: `role-${n.role}` }, n.name),
    el('td', {}, n.role),
    el('td', { 'data-health': n.up ? 'up' : 'down' }, n.up ? 'up' : `down${n.error ? `: ${n.error}` : ''}`),
    el('td', { 'data-link': n.link ?? '' }, n.link ?? (n.role === 'primary' ? '—' : '?')),
    el('td', {}, lag),
    el('td', {}, n.epoch ?? '–'),
    el('td', {}, n.restarts),
    el('td', {}, n.port === null ? '–' : `${n.host}:${n.port}`));
}

/** "WRITES REFUSED since 12:03:04: no-sync-replica: …" while the shard's primary refuses writes (issue #13). */
function writesRefused(s) {
  const w = s.writesRefused;
  if (w === undefined || w === null) return '';
  return el('div', { class: 'writes-refused', 'data-writes-refused': w.reason, 'data-since': w.since },
    el('strong', {}, 'WRITES REFUSED'), ` since ${time(Date.parse(w.since))}: ${w.reason}: ${w.detail}`);
}

function renderShards(view) {
  const shards = view.status.shards;
  $('shards').replaceChildren(...shards.map((s) => el('div', { class: 'shard', 'data-shard': s.id, 'data-primary': s.primary },
    el('h3', {}, el('span', { class: 'swatch', style: `background:${shardColor(shards, s.id)}` }),
      `${s.id}`, el('span', { class: 'muted' }, ` · ${s.slotCount} slots · epoch ${s.epoch} · primary ${s.primary}${s.leaving ? ' · leaving' : ''}`)),
    writesRefused(s),
    el('table', {},
      el('thead', {}, el('tr', {}, ...['node', 'role', 'health', 'link', 'replica lag', 'epoch', 'restarts', 'address'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...s.nodes.map(nodeRow))))));
}

function progress(done, total) {
  const pct = total > 0 ? Math.min(100, (100 * done) / total) : 0;
  return el('div', { class: 'progress' }, el('div', { style: `width:${pct.toFixed(1)}%` }));
}

function renderOperations(view) {
  const items = [];
  const op = view.status.operation;
  if (op !== null) {
    const cur = op.current;
    items.push(el('div', { class: 'op', 'data-operation': op.kind, 'data-stage': op.stage, 'data-slots-done': op.slotsDone, 'data-slots-total': op.slotsTotal },
      el('strong', {}, `rebalance ${op.id}`), ` · stage ${op.stage} · ${op.reason}`,
      el('div', {}, `moves ${op.movesDone}/${op.movesTotal} · slots ${op.slotsDone}/${op.slotsTotal} · ${op.keysMoved} keys, ${bytes(op.bytesMoved)} moved`),
      cur === null ? '' : el('div', { class: 'muted' }, `now: ${cur.from} → ${cur.to}, ${cur.slotCount} slots, ${cur.stage}, ${cur.keysCopied} keys / ${bytes(cur.bytesCopied)} copied`),
      op.error === null ? '' : el('div', { class: 'muted' }, `error: ${op.error}`),
      progress(op.slotsDone, op.slotsTotal)));
  }
  for (const s of view.status.shards) {
    const f = s.failover;
    if (f === null) continue;
    items.push(el('div', { class: 'op', 'data-failover': s.id, 'data-kind': f.kind, 'data-stage': f.stage },
      el('strong', {}, `${f.kind} of ${s.id}`), ` · stage ${f.stage} · old primary ${f.oldPrimary}${f.candidate ? ` · candidate ${f.candidate}` : ''}`,
      el('div', { class: 'muted' }, `${f.reason} · started ${time(f.startedAt)}`),
      f.blocked ? el('div', {}, `blocked: ${f.blocked}`) : ''));
  }
  for (const b of view.backups) {
    if (b.phase !== 'Running') continue;
    items.push(el('div', { class: 'op', 'data-backup': b.id, 'data-phase': b.phase },
      el('strong', {}, `backup ${b.id}`), ` · to ${b.destination}`,
      el('div', {}, `shards ${b.shardsDone}/${b.shardsTotal} · ${b.keys} of ~${b.keysTotal} keys read · ${bytes(b.bytes)} written`),
      progress(b.keysTotal > 0 ? b.keys : b.shardsDone, b.keysTotal > 0 ? b.keysTotal : b.shardsTotal)));
  }
  $('operations').replaceChildren(...(items.length > 0 ? items : [el('p', { class: 'muted' }, 'none')]));
}

function renderBackups(view) {
  const table = $('backups');
  if (view.backups.length === 0) {
    table.replaceChildren(el('tbody', {}, el('tr', {}, el('td', { class: 'muted' }, 'no backups yet (irisctl backup create --destination URL)'))));
    return;
  }
  table.replaceChildren(
    el('thead', {}, el('tr', {}, ...['backup', 'phase', 'started', 'took', 'shards', 'keys', 'size', 'destination', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, ...view.backups.map((b) => el('tr', { 'data-backup': b.id, 'data-phase': b.phase },
      el('td', {}, b.id), el('td', {}, b.phase), el('td', {}, time(b.startedAt)),
      el('td', {}, b.finishedAt === null ? '–' : `${((b.finishedAt - b.startedAt) / 1000).toFixed(1)} s`),
      el('td', {}, `${b.shardsDone}/${b.shardsTotal}`), el('td', {}, b.keys), el('td', {}, bytes(b.bytes)),
      el('td', {}, b.destination), el('td', { class: 'muted' }, b.message ?? '')))));
}

function renderEvents(view) {
  $('events').replaceChildren(...view.events.map((e) => el('li', { 'data-reason': e.reason, 'data-type': e.type },
    el('time', {}, time(e.at)), el('strong', {}, e.reason), `: ${e.message}`)));
}

/** A small line chart: one line per series over the last `windowMs`, y from 0 to the highest point. */
function drawChart(canvas, series, windowMs, now, format) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 360;
  const h = canvas.clientHeight || 140;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const ctx = canvas.getContext('2d');
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, w, h);
  const pad = { l: 44, r: 6, t: 6, b: 16 };
  let max = 0;
  for (const s of series) for (const p of s.points) if (p.v !== null && p.v > max) max = p.v;
  max = max > 0 ? max * 1.1 : 1;
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillStyle = '#6b7480';
  ctx.strokeStyle = '#e5e8ec';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 3; i++) {
    const y = pad.t + ((h - pad.t - pad.b) * i) / 3;
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(w - pad.r, y);
    ctx.stroke();
    ctx.fillText(format((max * (3 - i)) / 3), 2, y + 3);
  }
  ctx.fillText(`-${Math.round(windowMs / 1000)}s`, pad.l, h - 3);
  ctx.fillText('now', w - pad.r - 18, h - 3);
  const x = (at) => pad.l + ((w - pad.l - pad.r) * (at - (now - windowMs))) / windowMs;
  const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / max);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let pen = false;
    for (const p of s.points) {
      if (p.v === null || p.at < now - windowMs) { pen = false; continue; }
      if (pen) ctx.lineTo(x(p.at), y(p.v));
      else ctx.moveTo(x(p.at), y(p.v));
      pen = true;
    }
    ctx.stroke();
  }
  canvas.dataset.series = String(series.length);
  canvas.dataset.points = String(series.reduce((n, s) => n + s.points.length, 0));
}

function renderCharts(view) {
  const windowMs = 120_000;
  const now = view.generatedAt;
  const color = (i) => NODE_COLORS[i % NODE_COLORS.length];
  const series = (pick) => view.charts.map((c, i) => ({ color: color(i), points: c.points.map((p) => ({ at: p.at, v: pick(p) })) }));
  const num = (v) => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v >= 10 ? v.toFixed(0) : v.toFixed(v >= 1 ? 1 : 2));
  drawChart($('chart-ops'), series((p) => p.opsPerSec), windowMs, now, num);
  drawChart($('chart-latency'), series((p) => p.latencyMs), windowMs, now, num);
  drawChart($('chart-memory'), series((p) => (p.memoryBytes === null ? null : p.memoryBytes / 1048576)), windowMs, now, num);
  $('chart-legend').replaceChildren(...view.charts.map((c, i) => {
    const last = c.points[c.points.length - 1];
    const text = c.error !== null ? `${c.name}: ${c.error}` : last === undefined ? `${c.name}: measuring…`
      : `${c.name}: ${num(last.opsPerSec)}/s, ${last.latencyMs === null ? '–' : `${last.latencyMs.toFixed(2)} ms`}, ${bytes(last.memoryBytes)}`;
    return el('span', { 'data-chart-node': c.name }, el('span', { class: 'swatch', style: `background:${color(i)}` }), text);
  }));
}

/** The shard picker follows the shard list without losing the user's choice. */
function renderActions(view) {
  $('actions').hidden = !view.actions;
  if (!view.actions) return;
  const select = $('action-shard');
  const ids = view.status.shards.map((s) => s.id);
  if (ids.join(',') === [...select.options].map((o) => o.value).join(',')) return;
  const chosen = select.value;
  select.replaceChildren(...ids.map((id) => el('option', { value: id }, id)));
  if (ids.includes(chosen)) select.value = chosen;
}

/** POSTs an action to the control API with the pasted token, as irisctl would, and shows its answer. */
async function act(path, body) {
  const out = $('action-result');
  const token = $('action-token').value.trim();
  if (token === '') {
    out.dataset.outcome = 'error';
    out.textContent = 'paste the cluster token first';
    return;
  }
  out.dataset.outcome = 'pending';
  out.textContent = `${path.slice(1)}: sending…`;
  try {
    const res = await fetch(path, { method: 'POST', cache: 'no-store', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    out.dataset.outcome = res.ok ? 'ok' : 'error';
    out.textContent = res.ok ? `${path.slice(1)}: ${answer.message ?? 'accepted'}` : `${path.slice(1)} refused (HTTP ${res.status}): ${answer.error?.message ?? ''}`;
  } catch (err) {
    out.dataset.outcome = 'error';
    out.textContent = `${path.slice(1)} failed: ${err.message}`;
  }
}

function render(view) {
  renderHeader(view);
  renderActions(view);
  renderOperations(view);
  renderSlotMap(view);
  renderShards(view);
  renderCharts(view);
  renderBackups(view);
  renderEvents(view);
  document.body.dataset.generatedAt = String(view.generatedAt);
}

async function poll() {
  const conn = $('connection');
  try {
    const res = await fetch(`/dashboard/api/view${CLUSTER === null ? '' : `?cluster=${encodeURIComponent(CLUSTER)}`}`, { cache: 'no-store' });
    if (res.status === 404) {
      const body = await res.json();
      renderClusterLinks(body.clusters ?? [], null);
      throw new Error(body.error?.message ?? 'HTTP 404');
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    render(await res.json());
    conn.dataset.state = 'ok';
    conn.textContent = '';
  } catch (err) {
    conn.dataset.state = 'lost';
    conn.textContent = `no fresh view (${err.message}); showing the last one`;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  $('action-switchover').addEventListener('click', () => void act('/switchover', { shard: $('action-shard').value }));
  $('action-rebalance').addEventListener('click', () => void act('/rebalance', {}));
  void poll();
});
})();

/**
 * `irisctl status` as text: a header line, one table per shard, the
 * operation under way and the messages that say why the cluster is not
 * Ready. Pure: ClusterStatus in, text out (colour codes only when asked).
 */
import { SLOT_COUNT } from '../../common/slot.js';
import type { ClusterPhase, ClusterStatus, NodeView, ShardView } from '../core/observation.js';
import type { FailoverProgress } from '../core/state.js';
import { renderOperation } from './render-progress.js';
import { renderRecoverability } from './render-recoverability.js';
import { type Color, formatCount, formatRanges, oneLine, paint, plural, table } from './text.js';

export interface RenderOptions {
  readonly color: boolean;
}

const PHASE_COLOR: Record<ClusterPhase, Color> = { Ready: 'green', Bootstrapping: 'yellow', Degraded: 'yellow', Unavailable: 'red' };

export function renderStatus(status: ClusterStatus, opts: RenderOptions): string {
  const c = opts.color;
  const s = status.spec;
  const lines: string[] = [
    `cluster ${oneLine(status.cluster)}  phase ${paint(status.phase, PHASE_COLOR[status.phase] ?? 'yellow', c)}  map epoch ${status.mapEpoch}` +
      `  slots assigned ${paint(`${status.slotsAssigned}/${SLOT_COUNT}`, status.slotsAssigned === SLOT_COUNT ? 'green' : 'red', c)}` +
      `  (spec: ${plural(s.shards, 'shard')} × ${plural(s.replicasPerShard, 'replica')}, min sync ${s.minSyncReplicas})`,
  ];
  for (const shard of status.shards) lines.push('', ...renderShard(shard, c), ...renderWritesRefused(shard, status.updatedAt, c));
  if (status.shards.length === 0) lines.push('', 'no shards yet');
  if (status.operation !== null) {
    lines.push('', `operation ${oneLine(status.operation.id)}: ${oneLine(status.operation.reason)}`, `  ${renderOperation(status.operation)}`);
  }
  lines.push(...renderRecoverability(status.recoverability, c));
  if (status.messages.length > 0) {
    lines.push('', status.phase === 'Ready' ? 'messages:' : `why not Ready:`);
    for (const m of status.messages) lines.push(`  - ${oneLine(m)}`);
  }
  return lines.join('\n') + '\n';
}

function renderShard(shard: ShardView, c: boolean): string[] {
  const flags = [
    shard.leaving ? paint('leaving', 'yellow', c) : '',
    shard.targetPrimary !== shard.primary ? paint(`primary changing ${shard.primary} → ${shard.targetPrimary}`, 'yellow', c) : '',
  ].filter((f) => f !== '');
  const head = `${paint(oneLine(shard.id), 'bold', c)}  slots ${formatRanges(shard.slots)} (${formatCount(shard.slotCount)})  epoch ${shard.epoch}` +
    (flags.length > 0 ? `  ${flags.join('  ')}` : '');
  const body = shard.nodes.map((n) => nodeRow(n, shard, c));
  // The NOTE column only when some node has a note.
  const cols = body.some((r) => r[r.length - 1] !== '') ? 7 : 6;
  const rows = [['NAME', 'ROLE', 'STATE', 'ADDRESS', 'LAG', 'LINK', 'NOTE'].slice(0, cols).map((h) => paint(h, 'dim', c)), ...body.map((r) => r.slice(0, cols))];
  const out = [head, ...table(rows, '  ')];
  if (shard.failover !== null) out.push(`  ${renderFailover(shard.failover, c)}`);
  return out;
}

function nodeRow(n: NodeView, shard: ShardView, c: boolean): string[] {
  const role = n.role === 'primary' ? paint('primary', 'bold', c) : n.role;
  const state = n.up ? paint('up', 'green', c) : paint('down', 'red', c);
  // A node serving plain and TLS side by side (local up --tls --tls-keep-plain) shows both ports.
  const address = n.host !== null && n.port !== null ? `${n.host}:${n.port}${n.tlsPort !== undefined ? ` (TLS ${n.tlsPort})` : ''}` : '-';
  const lag = n.role === 'replica' && (n.lagOps !== null || n.lagMs !== null) ? `${n.lagOps ?? '?'} ops/${n.lagMs ?? '?'} ms` : '-';
  const notes: string[] = [];
  if (n.name === shard.targetPrimary && n.name !== shard.primary) notes.push('target primary');
  if (n.role === 'primary' && n.name !== shard.primary && n.name !== shard.targetPrimary) notes.push('not the recorded primary');
  if (n.restarts > 0) notes.push(plural(n.restarts, 'restart'));
  if (n.error !== null) notes.push(paint(oneLine(n.error), n.up ? 'yellow' : 'red', c));
  return [oneLine(n.name), role, state, address, lag, n.link === null ? '-' : oneLine(n.link), notes.join('; ')];
}

/** "  WRITES REFUSED since 12:03:04 (38 s): no replica acknowledges (...)", or nothing while the shard takes writes. */
export function renderWritesRefused(shard: ShardView, now: number, c: boolean): string[] {
  const w = shard.writesRefused;
  if (w === undefined || w === null) return [];
  const since = Date.parse(w.since);
  const ago = Number.isFinite(since) ? ` (${formatAge(Math.max(0, now - since))})` : '';
  return [`  ${paint('WRITES REFUSED', 'red', c)} since ${w.since.slice(11, 19)}${ago}: ${oneLine(w.reason)}: ${oneLine(w.detail)}`];
}

function formatAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

/** "failover f-7 (primary missed 3 heartbeats): stage promote, candidate iris-1-1". */
export function renderFailover(f: FailoverProgress, c: boolean): string {
  const text = `${f.kind} ${oneLine(f.id)} of ${oneLine(f.oldPrimary)} (${oneLine(f.reason)}): stage ${f.stage}` +
    (f.candidate !== null ? `, candidate ${oneLine(f.candidate)}` : '');
  return f.blocked !== null ? `${text}, ${paint(`blocked: ${oneLine(f.blocked)}`, 'red', c)}` : text;
}

/**
 * An IrisCluster resource → the ClusterStatus `irisctl status` renders, so
 * `irisctl --kube` shows a Kubernetes cluster with the local renderers
 * (render-status.ts, render-progress.ts, render-slots.ts) and follows it
 * with follow.ts. The resource's public status gives the shards, primaries,
 * replicas' links and lag, phase and conditions; the operator's record
 * (status.controllerState, same version as this irisctl) adds what the
 * status only summarises: failover stages, the operation's moves, node
 * addresses. Pure.
 */
import { countSlots, type SlotRange } from '../../common/cluster-map.js';
import type { MigrationStage } from '../../common/migration.js';
import type { ClusterPhase, ClusterStatus, NodeView, OperationView, ShardView } from '../core/observation.js';
import { parseControllerState } from '../core/record.js';
import type { ControllerState, RebalanceOp, ShardState } from '../core/state.js';
import { clusterSpecOf, type IrisCluster, type MigrationProgress, type ShardStatus } from '../kube/iris-cluster.js';
import { REQUEST_ANNOTATION } from '../kube/request.js';
import { caRotationLine } from '../kube/reconcile/tls-status.js';

/** The operator's record in the resource, or null when absent or unreadable (an operator of another version). */
export function recordOf(cr: IrisCluster): ControllerState | null {
  const raw = cr.status?.controllerState;
  if (raw === undefined || raw === null) return null;
  try {
    return parseControllerState(JSON.stringify(raw), 'status.controllerState');
  } catch {
    return null;
  }
}

export function clusterStatusOf(cr: IrisCluster, now: number): ClusterStatus {
  const st = cr.status;
  const record = recordOf(cr);
  const name = cr.metadata.name ?? '';
  const shards = (st?.shards ?? []).map((s) => shardView(s, record, st?.phase === 'Ready'));
  const messages: string[] = [];
  if (st?.phase === undefined) {
    messages.push(`the operator has not written this IrisCluster's status yet: is it running and watching namespace ${cr.metadata.namespace ?? ''}?`);
  }
  const generation = cr.metadata.generation ?? 0;
  if (st?.observedGeneration !== undefined && st.observedGeneration < generation) {
    messages.push(`the operator has not acted on the latest spec yet (generation ${generation}; the status describes ${st.observedGeneration})`);
  }
  if (st?.phase === 'Deleting') messages.push('the IrisCluster is being deleted');
  const cond = (type: string) => (st?.conditions ?? []).find((c) => c.type === type && c.status === 'True');
  const degraded = cond('Degraded');
  if (degraded !== undefined) messages.push(...degraded.message.split('; ').filter((m) => m !== ''));
  const progressing = cond('Progressing');
  // Failovers and rebalances have their own lines; the operator's own work (pods, rollouts) only this one.
  if (progressing !== undefined && !['Failover', 'Switchover', 'Rebalancing'].includes(progressing.reason)) messages.push(`${progressing.reason}: ${progressing.message}`);
  // The record is saved at every step, the status view at most once a second: what the view does not show yet is not known to serve.
  const stale = shards.flatMap((v) => staleness(v, st?.shards?.find((x) => x.id === v.id)));
  messages.push(...stale);
  const req = st?.request;
  if (req !== undefined && req.annotation === cr.metadata.annotations?.[REQUEST_ANNOTATION] && req.phase !== 'Started') {
    messages.push(`request "${req.annotation}": ${req.phase}: ${req.message}`);
  }
  const caRotation = caRotationLine(st?.tls);
  if (caRotation !== null) messages.push(caRotation);
  return {
    cluster: name,
    phase: stale.length > 0 && st?.phase === 'Ready' ? 'Degraded' : phaseOf(st?.phase),
    spec: record?.spec ?? clusterSpecOf(cr.spec),
    mapEpoch: record?.map?.epoch ?? 0,
    slotsAssigned: shards.reduce((n, s) => n + s.slotCount, 0),
    shards,
    operation: record?.operation != null ? operationView(record.operation, st?.migration ?? null) : null,
    messages,
    updatedAt: now,
  };
}

/** Why the status view of a shard lags its record (a new primary, new members), as messages; [] when it is current. */
function staleness(v: ShardView, s: ShardStatus | undefined): string[] {
  if (s === undefined) return [`${v.id}: not in the status yet`];
  if (s.primary !== v.primary) return [`${v.id}: the status does not show its primary ${v.primary} yet`];
  const missing = v.nodes.filter((n) => n.name !== s.primary && !s.replicas.some((r) => r.name === n.name));
  return missing.map((n) => `${v.id}: ${n.name} is not in the status yet`);
}

function phaseOf(p: string | undefined): ClusterPhase {
  switch (p) {
    case 'Ready':
    case 'Degraded':
    case 'Unavailable':
      return p;
    case 'Deleting':
      return 'Unavailable';
    default:
      return 'Bootstrapping';
  }
}

function shardView(s: ShardStatus, record: ControllerState | null, ready: boolean): ShardView {
  const rec: ShardState | undefined = record?.shards.find((r) => r.id === s.id);
  // Who is primary and the members: the record (current); their health: the status, only while it describes the same primary.
  const primary = rec?.currentPrimary ?? s.primary;
  const current = s.primary === primary;
  const members = rec?.members ?? [s.primary, ...s.replicas.map((r) => r.name)];
  const addr = new Map((record?.map?.nodes ?? []).map((n) => [n.name, n] as const));
  const nodes = members.map((m): NodeView => {
    const a = addr.get(m);
    const base = { name: m, host: a?.host ?? null, port: a?.port ?? null, httpUrl: null, epoch: null, lastSeq: null, restarts: 0, error: null };
    if (m === primary) {
      // Statuses written before primaryUp existed: a Ready cluster's primaries answer.
      const up = current && (s.primaryUp ?? ready);
      return { ...base, role: up ? 'primary' : 'unknown', up, lagOps: null, lagMs: null, link: null };
    }
    const r = current ? s.replicas.find((x) => x.name === m) : undefined;
    const up = r !== undefined && r.link !== 'down';
    const role = !up ? 'unknown' : r!.link === 'primary' ? 'primary' : 'replica';
    return { ...base, role, up, lagOps: r?.lagOps ?? null, lagMs: r?.lagMs ?? null, link: up && role === 'replica' ? r!.link : null };
  });
  return {
    id: s.id, slots: parseSlots(s.slots), slotCount: s.slotCount, epoch: rec?.epoch ?? s.epoch, primary, targetPrimary: rec?.targetPrimary ?? s.targetPrimary,
    failover: rec?.failover ?? null, leaving: rec?.leaving ?? false, nodes,
  };
}

/** "0-5460,10923" → [[0, 5460], [10923, 10923]]; anything unreadable is left out. */
export function parseSlots(text: string): SlotRange[] {
  const out: SlotRange[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) continue;
    out.push([Number(m[1]), Number(m[2] ?? m[1])]);
  }
  return out;
}

/** The status' migration stage text "migrate: shard-1 → shard-3 copying (20 keys copied)" (status-view.ts). */
const CURRENT = /^\w+: \S+ → \S+ (\S+) \((\d+) keys copied\)$/;

function operationView(op: RebalanceOp, m: MigrationProgress | null): OperationView {
  const slotsOf = (moves: RebalanceOp['moves']): number => moves.reduce((n, x) => n + countSlots(x.slots), 0);
  const move = op.moves[op.done];
  const live = m === null ? null : CURRENT.exec(m.stage);
  const keysCopied = live !== null ? Number(live[2]) : 0;
  return {
    id: op.id, kind: op.kind, reason: op.reason, stage: op.stage,
    movesDone: op.done, movesTotal: op.moves.length,
    slotsDone: m?.slotsDone ?? slotsOf(op.moves.slice(0, op.done)), slotsTotal: m?.slotsTotal ?? slotsOf(op.moves),
    // The status counts the running migration's copied keys in keysMoved; the view keeps them apart.
    keysMoved: m !== null ? m.keysMoved - keysCopied : op.keysMoved,
    bytesMoved: op.bytesMoved,
    current: op.migration === null || move === undefined ? null : {
      id: op.migration.id, from: move.from, to: move.to, slotCount: countSlots(move.slots),
      stage: live !== null ? (live[1] as MigrationStage) : 'starting', keysCopied, bytesCopied: 0,
    },
    error: op.error,
  };
}

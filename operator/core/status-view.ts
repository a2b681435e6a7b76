/**
 * The status users see (control API, `irisctl status`, the custom
 * resource's status), built from the recorded state and the latest
 * heartbeat observations. Every phase other than Ready comes with messages
 * saying why, so a user never has to guess what the controller is waiting
 * for. Pure.
 */
import { countSlots, type MapNode } from '../../common/cluster-map.js';
import type { MigrationStatus } from '../../common/migration.js';
import type { ReplicationStatus } from '../../common/replication.js';
import { SLOT_COUNT } from '../../common/slot.js';
import { downReason, nodeUp, replicaStreaming } from './health.js';
import type { ClusterPhase, ClusterStatus, NodeObservation, NodeView, OperationView, ShardView, WritesRefused } from './observation.js';
import type { ControllerState, RebalanceOp, ShardState } from './state.js';

export interface StatusInput {
  readonly state: ControllerState;
  readonly observations: readonly NodeObservation[];
  /** The current operation's migration as its source primary reports it (null: none, or not read). */
  readonly migration: MigrationStatus | null;
  readonly now: number;
}

/**
 * Phase: Bootstrapping until the first map is published; Unavailable when
 * some slots cannot be served (a slot-owning shard without an answering
 * primary, unassigned slots) or a failover is blocked; Degraded when any
 * node is down or not streaming, or a change of primary is under way
 * (a blocked switchover too: the old primary still serves); else Ready.
 */
export function buildStatus(input: StatusInput): ClusterStatus {
  const { state, now } = input;
  const obs = new Map(input.observations.map((o) => [o.name, o] as const));
  const mapNodes = new Map((state.map?.nodes ?? []).map((n) => [n.name, n] as const));
  const problems = new Problems();
  const slotsAssigned = (state.map?.shards ?? []).reduce((n, s) => n + countSlots(s.slots), 0);
  if (state.map === null) {
    problems.add('unavailable', `bootstrapping: the first cluster map (slots split over ${state.spec.shards} shards) is not published yet`);
  } else if (slotsAssigned < SLOT_COUNT) {
    problems.add('unavailable', `${SLOT_COUNT - slotsAssigned} of ${SLOT_COUNT} slots are not assigned to any shard: keys in them cannot be served`);
  }

  const shards = state.shards.map((s): ShardView => {
    const slots = state.map?.shards.find((m) => m.id === s.id)?.slots ?? [];
    const slotCount = countSlots(slots);
    checkShard(s, slotCount, obs, problems);
    const primary = obs.get(s.currentPrimary)?.status ?? null;
    const writesRefused = shardWritesRefused(primary);
    if (writesRefused !== null) problems.add('degraded', `${s.id}: writes refused since ${writesRefused.since}: ${writesRefused.detail}`);
    return {
      id: s.id, slots, slotCount, epoch: s.epoch, primary: s.currentPrimary, targetPrimary: s.targetPrimary,
      failover: s.failover, leaving: s.leaving, writesRefused,
      nodes: s.members.map((m) => nodeView(m, s, obs.get(m), primary, mapNodes.get(m))),
    };
  });

  return {
    cluster: state.cluster,
    phase: state.map === null ? 'Bootstrapping' : problems.phase(),
    spec: state.spec,
    mapEpoch: state.map?.epoch ?? 0,
    slotsAssigned,
    shards,
    operation: state.operation === null ? null : operationView(state.operation, input.migration),
    messages: problems.messages,
    updatedAt: now,
  };
}

/** Messages in the order found, with the worst severity seen. */
class Problems {
  readonly messages: string[] = [];
  private worst: 'ready' | 'degraded' | 'unavailable' = 'ready';

  add(severity: 'degraded' | 'unavailable', message: string): void {
    this.messages.push(message);
    if (severity === 'unavailable' || this.worst === 'ready') this.worst = severity;
  }

  phase(): ClusterPhase {
    return this.worst === 'unavailable' ? 'Unavailable' : this.worst === 'degraded' ? 'Degraded' : 'Ready';
  }
}

function checkShard(s: ShardState, slotCount: number, obs: ReadonlyMap<string, NodeObservation>, problems: Problems): void {
  const f = s.failover;
  if (f !== null && f.blocked !== null) {
    // A blocked failover leaves the shard without a primary; a blocked switchover leaves the old one serving.
    problems.add(f.kind === 'failover' ? 'unavailable' : 'degraded', `${s.id}: ${f.kind} of ${f.oldPrimary} is blocked: ${f.blocked}`);
  } else if (f !== null) {
    const to = f.candidate === null ? '' : ` to ${f.candidate}`;
    problems.add('degraded', `${s.id}: ${f.kind} from ${f.oldPrimary}${to} in progress (stage ${f.stage}): ${f.reason}`);
  }
  for (const m of s.members) {
    const o = obs.get(m);
    const status = o?.status ?? null;
    const down = o === undefined ? 'no heartbeat yet' : status === null ? downReason(o) : null;
    if (m === s.currentPrimary) {
      const trouble = down !== null ? `does not answer (${down})` : status!.role !== 'primary' ? `answers as a ${status!.role} at epoch ${status!.epoch}` : null;
      if (trouble === null) continue;
      if (slotCount > 0) problems.add('unavailable', `${s.id}: no primary serves its ${slotCount} slots: ${m} ${trouble}`);
      else problems.add('degraded', `${s.id}: its primary ${m} ${trouble}`);
    } else if (down !== null) {
      problems.add('degraded', `${s.id}: replica ${m} does not answer (${down})`);
    } else if (status!.role !== 'replica') {
      problems.add('degraded', `${s.id}: ${m} answers as a ${status!.role} at epoch ${status!.epoch}, but ${s.currentPrimary} is the shard's primary`);
    } else if (!replicaStreaming(o!)) {
      problems.add('degraded', `${s.id}: replica ${m} is not streaming from its primary (${linkText(status!)})`);
    }
  }
}

/** The primary's own word on refusing writes; null when it accepts them, does not answer as primary, or predates the report. */
export function shardWritesRefused(primary: ReplicationStatus | null): WritesRefused | null {
  const w = primary?.role === 'primary' ? primary.writable : undefined;
  if (w === undefined || w.ok || w.reason === undefined) return null;
  return { reason: w.reason, since: w.since, detail: w.detail };
}

/** "link full_sync, loading 10 of 200 keys; last error: ..." */
function linkText(status: ReplicationStatus): string {
  const p = status.primary;
  if (p === null) return 'no primary link';
  const parts = [`link to ${p.name} ${p.state}`];
  if (p.loading !== null) parts.push(`loading ${p.loading.keys} of ${p.loading.totalKeys} keys`);
  if (p.lastError !== null) parts.push(`last error: ${p.lastError}`);
  return parts.join(', ');
}

const tlsPortField = (tlsPort: number | undefined): { tlsPort?: number } => (tlsPort === undefined ? {} : { tlsPort });

function nodeView(
  name: string, shard: ShardState, o: NodeObservation | undefined, primary: ReplicationStatus | null, mapped: MapNode | undefined,
): NodeView {
  const status = o?.status ?? null;
  // Lag as the primary measures it (it knows what the replica has not acknowledged); the primary itself has none.
  const entry = name === shard.currentPrimary || primary?.role !== 'primary' ? undefined : primary.replicas.find((r) => r.name === name);
  return {
    name,
    role: status?.role ?? 'unknown',
    up: o !== undefined && nodeUp(o),
    host: o?.endpoint?.host ?? mapped?.host ?? null,
    port: o?.endpoint?.port ?? mapped?.port ?? null,
    ...tlsPortField(o?.endpoint?.tlsPort ?? mapped?.tlsPort),
    httpUrl: o?.endpoint?.httpUrl ?? null,
    epoch: status?.epoch ?? null,
    lastSeq: status?.lastSeq ?? null,
    lagOps: entry?.lagOps ?? null,
    lagMs: entry?.lagMs ?? null,
    link: status?.role === 'replica' ? status.primary?.state ?? null : null,
    restarts: o?.restarts ?? 0,
    error: o?.error ?? null,
  };
}

function operationView(op: RebalanceOp, migration: MigrationStatus | null): OperationView {
  const slotsOf = (moves: RebalanceOp['moves']): number => moves.reduce((n, m) => n + countSlots(m.slots), 0);
  const move = op.moves[op.done];
  let current: OperationView['current'] = null;
  if (op.migration !== null && move !== undefined) {
    // Only a report of this very migration counts; anything else (an older id, nothing read yet) shows it starting.
    const m = migration !== null && migration.id === op.migration.id ? migration : null;
    current = {
      id: op.migration.id, from: move.from, to: move.to, slotCount: countSlots(move.slots),
      stage: m?.stage ?? 'starting', keysCopied: m?.keysCopied ?? 0, bytesCopied: m?.bytesCopied ?? 0,
    };
  }
  return {
    id: op.id, kind: op.kind, reason: op.reason, stage: op.stage,
    movesDone: op.done, movesTotal: op.moves.length,
    slotsDone: slotsOf(op.moves.slice(0, op.done)), slotsTotal: slotsOf(op.moves),
    keysMoved: op.keysMoved, bytesMoved: op.bytesMoved, current, error: op.error,
  };
}

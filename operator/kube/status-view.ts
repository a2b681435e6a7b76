/**
 * The IrisCluster status from the controller's ClusterStatus (docs/architecture.md §5):
 * phase, the Ready / Progressing / Degraded conditions with reasons,
 * per-shard slots, primary, epoch and replica lag, migration progress and
 * the ready count for `kubectl get irisclusters`. A condition keeps its
 * lastTransitionTime while its status stays the same. Pure.
 */
import type { SlotRange } from '../../common/cluster-map.js';
import type { ClusterStatus, NodeView, ShardView } from '../core/observation.js';
import { writesCondition } from './writes-condition.js';
import type { Condition, IrisClusterViewStatus, MigrationProgress, ReplicaStatus, ResourcePhase, ShardStatus } from './iris-cluster.js';

export interface StatusViewInput {
  readonly status: ClusterStatus;
  readonly generation: number;
  readonly previous: readonly Condition[];
  /** The rolling update under way ("2 of 6 pods to restart: restarting x"), or null. */
  readonly rollout: string | null;
  /** A scale request the operator is preparing or waiting on, or null. */
  readonly scaling: string | null;
  /** Why the operator itself is blocked (bad spec, refused request), or null. */
  readonly operatorProblem: string | null;
  readonly deleting: boolean;
  /** RFC 3339 time for new transitions. */
  readonly now: string;
}

const MAX_MESSAGE = 1000;

export function statusView(input: StatusViewInput): IrisClusterViewStatus {
  const st = input.status;
  const phase: ResourcePhase = input.deleting ? 'Deleting' : st.phase;
  const nodes = st.shards.flatMap((s) => s.nodes.map((n) => ({ shard: s, node: n })));
  const readyNodes = nodes.filter(({ shard, node }) => nodeReady(shard, node)).length;
  const conditions = [
    readyCondition(st, input),
    progressingCondition(st, input),
    degradedCondition(st, input),
    writesCondition(st),
  ].map((c) => keepTransition(c, input.previous, input.generation));
  return {
    phase,
    conditions,
    observedGeneration: input.generation,
    shards: st.shards.map(shardStatus),
    migration: migration(st),
    readyNodes,
    nodes: nodes.length,
    ready: `${readyNodes}/${nodes.length}`,
  };
}

/** A node serving in its role: the primary answering as primary, a replica streaming from it. */
function nodeReady(shard: ShardView, n: NodeView): boolean {
  if (!n.up) return false;
  if (n.name === shard.primary) return n.role === 'primary';
  return n.role === 'replica' && n.link === 'streaming';
}

type Draft = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

function readyCondition(st: ClusterStatus, input: StatusViewInput): Draft {
  if (st.phase === 'Ready' && !input.deleting) {
    return { type: 'Ready', status: 'True', reason: 'ClusterReady', message: `${st.shards.length} shards serve all ${st.slotsAssigned} slots` };
  }
  const reason = input.deleting ? 'Deleting' : st.phase;
  return { type: 'Ready', status: 'False', reason, message: clip(st.messages[0] ?? (input.deleting ? 'the cluster is being deleted' : st.phase)) };
}

function progressingCondition(st: ClusterStatus, input: StatusViewInput): Draft {
  const change = st.shards.find((s) => s.failover !== null)?.failover ?? null;
  if (st.phase === 'Bootstrapping') return progressing('Bootstrapping', st.messages[0] ?? 'starting the nodes');
  if (change !== null) {
    const reason = change.kind === 'failover' ? 'Failover' : 'Switchover';
    return progressing(reason, `${change.kind} ${change.id} from ${change.oldPrimary} at stage ${change.stage}${change.blocked !== null ? ` (blocked: ${change.blocked})` : ''}`);
  }
  if (st.operation !== null) {
    const op = st.operation;
    return progressing('Rebalancing', `${op.reason} (${op.id}): stage ${op.stage}, ${op.movesDone} of ${op.movesTotal} migrations, ${op.slotsDone} of ${op.slotsTotal} slots${op.error !== null ? `; last problem: ${op.error}` : ''}`);
  }
  if (input.scaling !== null) return progressing('Scaling', input.scaling);
  if (input.rollout !== null) return progressing('RollingUpdate', input.rollout);
  return { type: 'Progressing', status: 'False', reason: 'Stable', message: 'no change under way' };
}

function progressing(reason: string, message: string): Draft {
  return { type: 'Progressing', status: 'True', reason, message: clip(message) };
}

function degradedCondition(st: ClusterStatus, input: StatusViewInput): Draft {
  const problems = [...(input.operatorProblem !== null ? [input.operatorProblem] : []), ...(st.phase === 'Bootstrapping' ? [] : st.messages)];
  if (st.phase === 'Unavailable') return { type: 'Degraded', status: 'True', reason: 'SlotsUnavailable', message: clip(problems.join('; ')) };
  if (st.phase === 'Degraded') return { type: 'Degraded', status: 'True', reason: 'NodesDegraded', message: clip(problems.join('; ')) };
  if (input.operatorProblem !== null) return { type: 'Degraded', status: 'True', reason: 'OperatorBlocked', message: clip(input.operatorProblem) };
  return { type: 'Degraded', status: 'False', reason: 'Healthy', message: 'every node answers in its role' };
}

function keepTransition(c: Draft, previous: readonly Condition[], generation: number): Condition {
  const prev = previous.find((p) => p.type === c.type);
  const lastTransitionTime = prev !== undefined && prev.status === c.status ? prev.lastTransitionTime : '';
  return { ...c, lastTransitionTime, observedGeneration: generation };
}

/** Conditions with every empty lastTransitionTime set to `now` (kept apart so the comparison ignores the clock). */
export function stampTransitions(conditions: readonly Condition[], now: string): Condition[] {
  return conditions.map((c) => (c.lastTransitionTime === '' ? { ...c, lastTransitionTime: now } : c));
}

function shardStatus(s: ShardView): ShardStatus {
  const replicas = s.nodes.filter((n) => n.name !== s.primary).map((n): ReplicaStatus => ({
    name: n.name,
    // Integers in the CRD's schema: a fraction would get the whole status write rejected.
    ...(n.lagOps !== null ? { lagOps: Math.round(n.lagOps) } : {}),
    ...(n.lagMs !== null ? { lagMs: Math.round(n.lagMs) } : {}),
    link: n.link ?? (n.up ? n.role : 'down'),
  }));
  const f = s.failover;
  return {
    id: s.id, slots: slotsText(s.slots), slotCount: s.slotCount, primary: s.primary, primaryUp: primaryUp(s), targetPrimary: s.targetPrimary, epoch: s.epoch, replicas,
    ...(f !== null ? { failover: `${f.kind} ${f.id} from ${f.oldPrimary} at stage ${f.stage}${f.blocked !== null ? `, blocked: ${f.blocked}` : ''}` } : {}),
  };
}

function primaryUp(s: ShardView): boolean {
  const p = s.nodes.find((n) => n.name === s.primary);
  return p !== undefined && nodeReady(s, p);
}

/** "0-5460,10923" */
export function slotsText(ranges: readonly SlotRange[]): string {
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(',');
}

function migration(st: ClusterStatus): MigrationProgress | null {
  const op = st.operation;
  if (op === null) return null;
  const cur = op.current;
  return {
    operation: `${op.id}: ${op.reason}`,
    stage: cur === null ? op.stage : `${op.stage}: ${cur.from} → ${cur.to} ${cur.stage} (${cur.keysCopied} keys copied)`,
    movesDone: op.movesDone, movesTotal: op.movesTotal, slotsDone: op.slotsDone, slotsTotal: op.slotsTotal,
    keysMoved: op.keysMoved + (cur?.keysCopied ?? 0),
  };
}

function clip(s: string): string {
  return s.length <= MAX_MESSAGE ? s : `${s.slice(0, MAX_MESSAGE - 1)}…`;
}

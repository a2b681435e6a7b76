/**
 * The IrisCluster WritesAvailable condition (issue #13): False while some
 * shard cannot take writes, with the first such shard's reason (NoSyncReplica,
 * SelfFenced, NoClusterMap, NoPrimary) and every refusing shard's "since" in
 * the message; its lastTransitionTime is when writes stopped (or came back).
 * Kept apart from Degraded, which is also True for a lagging replica that
 * costs no writes. Pure.
 */
import type { ClusterStatus, ShardView } from '../core/observation.js';
import type { WritesRefusedReason } from '../../common/writability.js';
import type { Condition } from './iris-cluster.js';

type Draft = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

const REASON: Record<WritesRefusedReason, string> = {
  'no-sync-replica': 'NoSyncReplica',
  'self-fenced': 'SelfFenced',
  'no-cluster-map': 'NoClusterMap',
  'not-primary': 'NoPrimary',
};

const MAX_MESSAGE = 1000;

export function writesCondition(st: ClusterStatus): Draft {
  if (st.phase === 'Bootstrapping') return { type: 'WritesAvailable', status: 'Unknown', reason: 'Bootstrapping', message: 'no cluster map is published yet' };
  const refused: Array<{ reason: string; text: string }> = [];
  for (const s of st.shards) {
    const r = shardRefusal(s);
    if (r !== null) refused.push(r);
  }
  if (refused.length === 0) return { type: 'WritesAvailable', status: 'True', reason: 'WritesAccepted', message: 'every shard with slots has a primary that accepts writes' };
  const message = refused.map((r) => r.text).join('; ');
  return { type: 'WritesAvailable', status: 'False', reason: refused[0]!.reason, message: message.length <= MAX_MESSAGE ? message : `${message.slice(0, MAX_MESSAGE - 1)}…` };
}

function shardRefusal(s: ShardView): { reason: string; text: string } | null {
  const w = s.writesRefused;
  if (w !== undefined && w !== null) return { reason: REASON[w.reason], text: `${s.id}: writes refused since ${w.since}: ${w.detail}` };
  if (s.slotCount === 0) return null;
  const p = s.nodes.find((n) => n.name === s.primary);
  if (p === undefined || !p.up || p.role !== 'primary') {
    return { reason: 'NoPrimary', text: `${s.id}: no primary answers for its ${s.slotCount} slots${p?.error ? ` (${p.error})` : ''}` };
  }
  return null;
}

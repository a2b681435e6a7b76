/**
 * The decisions of a rescale or rebalance (core/state.ts RebalanceOp), stage
 * by stage, as data: from the recorded state and what the nodes report,
 * what to record next and which node call to make. The runner
 * (operator/controller/rebalance-runner.ts) makes the calls and commits.
 * Pure.
 */
import { countSlots, moveSlots, rangesToSlots, type ClusterMap, type MapNode } from '../../common/cluster-map.js';
import { TERMINAL_STAGES, type MigrationStatus } from '../../common/migration.js';
import type { ReplicationStatus } from '../../common/replication.js';
import { desiredRole, roleDrift } from './role-plan.js';
import { rebalancePlan, withShard, withoutShard } from './slot-plan.js';
import type { ControllerState, MigrationRef, RebalanceOp, ShardState, SlotMove } from './state.js';

/** Resume a stopped migration at most this often. */
export const RESUME_EVERY_MS = 2000;

export interface RebalanceEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** Whether the map already gives every slot of the move to its target. */
export function ownsMove(map: ClusterMap, move: SlotMove): boolean {
  const to = map.shards.find((s) => s.id === move.to);
  if (to === undefined) return false;
  const owned = new Set(rangesToSlots(to.slots));
  return rangesToSlots(move.slots).every((s) => owned.has(s));
}

// ---- add --------------------------------------------------------------------------

/**
 * add: once every node of the new shards answers with its role, they join
 * the map with no slots and the moves are planned; null while not ready
 * (a node without its role, or without an address yet).
 */
export function afterAdd(
  state: ControllerState,
  op: RebalanceOp,
  statusOf: (node: string) => ReplicationStatus | null,
  addresses: ReadonlyMap<string, { readonly host: string; readonly busPort: number }>,
  mapNodesOf: (names: readonly string[]) => MapNode[] | null,
  now: number,
): { readonly map: ClusterMap; readonly operation: RebalanceOp; readonly event: RebalanceEvent } | null {
  const map = state.map!;
  const adding = state.shards.filter((s) => op.shardsAfter.includes(s.id) && !map.shards.some((m) => m.id === s.id));
  for (const shard of adding) {
    for (const m of shard.members) {
      const st = statusOf(m);
      const want = desiredRole(shard, m, addresses);
      if (st === null || want === null || roleDrift(want, st) !== 'none') return null;
    }
  }
  let next: ClusterMap = map;
  for (const shard of adding) {
    const nodes = mapNodesOf(shard.members);
    if (nodes === null) return null;
    next = withShard(next, { id: shard.id, slots: [], primary: shard.currentPrimary, replicas: shard.members.filter((m) => m !== shard.currentPrimary) }, nodes, next.epoch + 1);
  }
  const moves = rebalancePlan(next, op.shardsAfter);
  return {
    map: next,
    operation: { ...op, stage: 'migrate', moves, done: 0, migration: null, updatedAt: now },
    event: { type: 'Normal', reason: 'RebalancePlanned', message: `${op.reason}: ${moves.length} migrations, ${moves.reduce((n, m) => n + countSlots(m.slots), 0)} slots` },
  };
}

// ---- migrate ----------------------------------------------------------------------

export type MigrateStep =
  /** Every move is done: on to remove. */
  | { readonly do: 'next-stage' }
  | { readonly do: 'fail'; readonly why: string }
  /** A change of primary of either shard goes first. */
  | { readonly do: 'wait' }
  /** The map has the move already: finish it once the source has cleaned up. */
  | { readonly do: 'finish-when-clean'; readonly move: SlotMove }
  | { readonly do: 'start'; readonly move: SlotMove; readonly from: ShardState; readonly to: ShardState }
  /** The source failed over since the migration started: its record went with the old primary. */
  | { readonly do: 'source-replaced'; readonly move: SlotMove; readonly ref: MigrationRef; readonly from: ShardState; readonly to: ShardState }
  /** Read the migration's status on its source. */
  | { readonly do: 'check'; readonly move: SlotMove; readonly ref: MigrationRef };

export function migrateStep(state: ControllerState, op: RebalanceOp): MigrateStep {
  if (op.done >= op.moves.length) return { do: 'next-stage' };
  const move = op.moves[op.done]!;
  const from = state.shards.find((s) => s.id === move.from);
  const to = state.shards.find((s) => s.id === move.to);
  if (from === undefined || to === undefined) return { do: 'fail', why: `shard ${from === undefined ? move.from : move.to} is gone` };
  if (from.failover !== null || to.failover !== null) return { do: 'wait' };
  if (ownsMove(state.map!, move)) return { do: 'finish-when-clean', move };
  if (op.migration === null) return { do: 'start', move, from, to };
  const ref = op.migration;
  if (from.currentPrimary !== ref.sourceNode || from.epoch !== ref.sourceEpoch) return { do: 'source-replaced', move, ref, from, to };
  return { do: 'check', move, ref };
}

/** Both primaries must have the controller's map before a migration starts: the target refuses a source at another epoch. */
export function primariesHaveMap(map: ClusterMap, from: ShardState, to: ShardState, mapEpochOf: (node: string) => number | null | undefined): boolean {
  return [from.currentPrimary, to.currentPrimary].every((n) => mapEpochOf(n) === map.epoch);
}

/** The migration of `move`, recorded (with its source) before it is started on the source. */
export function startedMigration(op: RebalanceOp, move: SlotMove, from: ShardState, seqId: string, now: number): { readonly operation: RebalanceOp; readonly event: RebalanceEvent } {
  const id = `${seqId}-${move.from}-${move.to}`;
  return {
    operation: { ...op, migration: { id, sourceNode: from.currentPrimary, sourceEpoch: from.epoch }, updatedAt: now },
    event: { type: 'Normal', reason: 'MigrationStarted', message: `${op.id}: moving ${countSlots(move.slots)} slots from ${move.from} to ${move.to} (${id}, ${op.done + 1} of ${op.moves.length})` },
  };
}

/** The source was replaced and the target has not flipped: the move starts again under a new id. */
export function restartAfterSourceLost(op: RebalanceOp, ref: MigrationRef, from: ShardState, now: number): { readonly operation: RebalanceOp; readonly event: RebalanceEvent } {
  return {
    operation: { ...op, migration: null, error: `the source ${ref.sourceNode} was replaced during migration ${ref.id}; starting the move again`, updatedAt: now },
    event: { type: 'Warning', reason: 'MigrationRestarted', message: `${op.id}: source ${ref.sourceNode} was replaced during ${ref.id}; starting the move again from ${from.currentPrimary}` },
  };
}

export type StatusStep =
  | { readonly do: 'adopt' }
  | { readonly do: 'restart'; readonly operation: RebalanceOp; readonly event: RebalanceEvent }
  | { readonly do: 'resume' }
  | { readonly do: 'wait' };

/** What the source's report of the migration calls for: adopt its flip, start again after a rollback, resume a stopped one. */
export function afterMigrationStatus(op: RebalanceOp, st: MigrationStatus, now: number, lastResumeAt: number): StatusStep {
  if (st.stage === 'flipped' || st.stage === 'cleanup' || st.stage === 'done') return { do: 'adopt' };
  if (st.stage === 'aborted') {
    const ref = op.migration!;
    return {
      do: 'restart',
      operation: { ...op, migration: null, error: `migration ${ref.id} was rolled back: ${st.error ?? 'no reason given'}`, updatedAt: now },
      event: { type: 'Warning', reason: 'MigrationRolledBack', message: `${op.id}: migration ${ref.id} rolled back (${st.error ?? 'no reason'}); starting the move again` },
    };
  }
  if (!st.running && !TERMINAL_STAGES.has(st.stage) && now - lastResumeAt > RESUME_EVERY_MS) return { do: 'resume' };
  return { do: 'wait' };
}

/** The map with the move, above any epoch published meanwhile; null if it has it already. */
export function adoptedMap(map: ClusterMap, move: SlotMove): ClusterMap | null {
  return ownsMove(map, move) ? null : moveSlots(map, move.slots, move.to, map.epoch + 1);
}

/** Whether the migration's record is still on the shard's primary (no failover since it started). */
export function sameSource(state: ControllerState, move: SlotMove, ref: MigrationRef): boolean {
  const from = state.shards.find((s) => s.id === move.from);
  return from !== undefined && from.currentPrimary === ref.sourceNode && from.epoch === ref.sourceEpoch;
}

/** The move is done (the map has it, the source cleaned up or is gone): count it and go on to the next. */
export function finishedMove(op: RebalanceOp, move: SlotMove, keys: number, bytes: number, now: number): { readonly operation: RebalanceOp; readonly event: RebalanceEvent } {
  return {
    operation: { ...op, done: op.done + 1, migration: null, keysMoved: op.keysMoved + keys, bytesMoved: op.bytesMoved + bytes, error: null, updatedAt: now },
    event: { type: 'Normal', reason: 'MigrationFinished', message: `${op.id}: ${countSlots(move.slots)} slots moved from ${move.from} to ${move.to} (${keys} keys; ${op.done + 1} of ${op.moves.length})` },
  };
}

/** A problem the operation waits on, recorded once. */
export function stuck(op: RebalanceOp, why: string, now: number): { readonly operation: RebalanceOp; readonly event: RebalanceEvent } | null {
  if (op.error === why) return null;
  return { operation: { ...op, error: why, updatedAt: now }, event: { type: 'Warning', reason: 'RebalanceStuck', message: `${op.id}: ${why}` } };
}

// ---- remove -----------------------------------------------------------------------

export type RemoveStep =
  /** The leaving shards leave the map first. */
  | { readonly do: 'map'; readonly map: ClusterMap }
  /** Some answering remaining node does not have the map without them yet. */
  | { readonly do: 'wait'; readonly behind: readonly string[] }
  /** Then they leave the state and the operation ends. */
  | { readonly do: 'finish'; readonly state: ControllerState; readonly event: RebalanceEvent; readonly tookMs: number };

export function removeStep(state: ControllerState, op: RebalanceOp, answeringMapEpochOf: (node: string) => number | null | undefined, now: number): RemoveStep {
  let map = state.map!;
  for (const s of state.shards.filter((x) => x.leaving)) {
    if (map.shards.some((m) => m.id === s.id)) map = withoutShard(map, s.id, map.epoch + 1);
  }
  if (map !== state.map) return { do: 'map', map };
  // Every remaining node must have the map without the leaving shards before their nodes go.
  const remaining = state.shards.filter((s) => !s.leaving).flatMap((s) => s.members);
  const behind = remaining.filter((n) => {
    const e = answeringMapEpochOf(n);
    return e !== undefined && e !== map.epoch;
  });
  if (behind.length > 0) return { do: 'wait', behind };
  const took = now - op.startedAt;
  return {
    do: 'finish',
    state: { ...state, shards: state.shards.filter((s) => !s.leaving), operation: null },
    event: { type: 'Normal', reason: 'RebalanceFinished', message: `${op.reason}: done in ${took} ms (${op.moves.length} migrations, ${op.keysMoved} keys)` },
    tookMs: took,
  };
}

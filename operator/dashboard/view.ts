/**
 * What the dashboard page shows, as one JSON document (GET
 * /dashboard/api/view): the controller's status (shards, nodes, roles,
 * health, lag, links, failovers, the rebalance under way), the slots moving
 * now, the recent events and each node's chart points. Built from what the
 * control plane already knows; holds no token or password. Pure.
 */
import type { SlotRange } from '../../common/cluster-map.js';
import { SLOT_COUNT } from '../../common/slot.js';
import type { ControllerEvent } from '../controller/context.js';
import type { BackupPhase, BackupRecord } from '../core/backup-state.js';
import type { ClusterStatus } from '../core/observation.js';
import type { RebalanceOp } from '../core/state.js';
import type { NodePoint } from './node-rates.js';

/** Where the dashboard's data comes from: one cluster's controller (local, or one the operator runs). */
export interface DashboardSource {
  status(): ClusterStatus;
  /** Recent controller events, oldest first. */
  events(): readonly ControllerEvent[];
  /** The rebalance recorded now (for the slots it is moving), null when none. */
  operation(): RebalanceOp | null;
  /** Cluster backups, newest last. */
  backups(): readonly BackupRecord[];
}

/** A backup as the page shows it: progress totals and the destination URL (credentials are never in it). */
export interface BackupSummary {
  readonly id: string;
  readonly phase: BackupPhase;
  readonly destination: string;
  readonly shardsDone: number;
  readonly shardsTotal: number;
  readonly keys: number;
  readonly keysTotal: number;
  readonly bytes: number;
  readonly message: string | null;
  readonly startedAt: number;
  readonly finishedAt: number | null;
}

export interface MigratingSlots {
  readonly from: string;
  readonly to: string;
  readonly slots: readonly SlotRange[];
}

export interface NodeChart {
  readonly name: string;
  readonly points: readonly NodePoint[];
  /** Why its metrics could not be read (null: they were). */
  readonly error: string | null;
}

export interface DashboardView {
  /** The page may offer actions (they need the control API's token). */
  readonly actions: boolean;
  /** The key of the cluster shown, and every cluster this control plane shows (the page's picker). */
  readonly cluster: string;
  readonly clusters: readonly string[];
  readonly slotCount: number;
  readonly status: ClusterStatus;
  /** The move of the rebalance's migrate stage under way now. */
  readonly migrating: MigratingSlots | null;
  /** Newest first. */
  readonly events: readonly ControllerEvent[];
  /** The last VIEW_BACKUPS backups, newest first. */
  readonly backups: readonly BackupSummary[];
  readonly charts: readonly NodeChart[];
  readonly generatedAt: number;
}

/** Events the view carries at most. */
export const VIEW_EVENTS = 50;
export const VIEW_BACKUPS = 5;

export function backupSummary(b: BackupRecord): BackupSummary {
  let keys = 0;
  let keysTotal = 0;
  let bytes = 0;
  let shardsDone = 0;
  for (const s of b.shards) {
    keys += s.keys;
    keysTotal += s.keysTotal;
    bytes += s.bytes;
    if (s.state === 'done') shardsDone++;
  }
  return {
    id: b.id, phase: b.phase, destination: b.destination.url, shardsDone, shardsTotal: b.shards.length, keys, keysTotal, bytes,
    message: b.message, startedAt: b.startedAt, finishedAt: b.finishedAt,
  };
}

/** The slots the rebalance moves now: the move after the `done` ones, while migrating. */
export function migratingSlots(op: RebalanceOp | null): MigratingSlots | null {
  if (op === null || op.stage !== 'migrate') return null;
  const move = op.moves[op.done];
  return move === undefined ? null : { from: move.from, to: move.to, slots: move.slots };
}

export function buildView(input: {
  readonly actions: boolean;
  readonly cluster: string;
  readonly clusters: readonly string[];
  readonly status: ClusterStatus;
  readonly events: readonly ControllerEvent[];
  readonly operation: RebalanceOp | null;
  readonly backups: readonly BackupRecord[];
  readonly charts: readonly NodeChart[];
  readonly now: number;
}): DashboardView {
  return {
    actions: input.actions,
    cluster: input.cluster,
    clusters: input.clusters,
    slotCount: SLOT_COUNT,
    status: input.status,
    migrating: migratingSlots(input.operation),
    events: input.events.slice(-VIEW_EVENTS).reverse(),
    backups: input.backups.slice(-VIEW_BACKUPS).reverse().map(backupSummary),
    charts: input.charts,
    generatedAt: input.now,
  };
}

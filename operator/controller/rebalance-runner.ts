/**
 * Rescaling and rebalancing (core/state.ts RebalanceOp), one live migration
 * at a time, each started on the source shard's primary and left to run
 * node to node (DESIGN §4). The controller records which migration it
 * started before starting it, adopts the flip into its map when the nodes
 * report it, and starts the move again under a new id when the record was
 * lost (the source primary failed over) or the migration was rolled back.
 *
 *   add      new shards' nodes get their roles, then join the map with no slots
 *   migrate  moves[done] ... moves[last]
 *   remove   leaving shards (owning nothing now) leave the map, then the state
 */
import { AdminApiError } from '../../common/admin-client.js';
import { countSlots, moveSlots, rangesToSlots, type ClusterMap } from '../../common/cluster-map.js';
import { TERMINAL_STAGES, type MigrationStatus } from '../../common/migration.js';
import { desiredRole, roleDrift } from '../core/role-plan.js';
import { rebalancePlan, withShard, withoutShard } from '../core/slot-plan.js';
import type { RebalanceOp, ShardState, SlotMove } from '../core/state.js';
import { addressBook, mapNodes } from './addresses.js';
import { errorText, type ControllerContext } from './context.js';
import { shardById } from './shard-update.js';

/** Resume a stopped migration at most this often. */
const RESUME_EVERY_MS = 2000;

export class RebalanceRunner {
  /** The current migration as its source last reported it (for status). */
  current: MigrationStatus | null = null;
  private lastResumeAt = 0;

  constructor(private readonly ctx: ControllerContext) {}

  async step(): Promise<void> {
    for (let i = 0; i < 8; i++) {
      const op = this.ctx.state.operation;
      if (op === null || this.ctx.state.map === null) return;
      const before = JSON.stringify([op.stage, op.done, op.migration?.id ?? null]);
      switch (op.stage) {
        case 'add': await this.add(op); break;
        case 'migrate': await this.migrate(op); break;
        case 'remove': await this.remove(op); break;
      }
      const after = this.ctx.state.operation;
      if (after === null || JSON.stringify([after.stage, after.done, after.migration?.id ?? null]) === before) return;
    }
  }

  // ---- add ------------------------------------------------------------------------

  private async add(op: RebalanceOp): Promise<void> {
    const map = this.ctx.state.map!;
    const adding = this.ctx.state.shards.filter((s) => op.shardsAfter.includes(s.id) && !map.shards.some((m) => m.id === s.id));
    const book = addressBook(this.ctx);
    for (const shard of adding) {
      for (const m of shard.members) {
        const st = this.ctx.observations.get(m)?.status ?? null;
        const want = desiredRole(shard, m, book);
        if (st === null || want === null || roleDrift(want, st) !== 'none') return; // not ready yet
      }
    }
    let next: ClusterMap = map;
    for (const shard of adding) {
      const nodes = mapNodes(this.ctx, shard.members);
      if (nodes === null) return;
      next = withShard(next, { id: shard.id, slots: [], primary: shard.currentPrimary, replicas: shard.members.filter((m) => m !== shard.currentPrimary) }, nodes, next.epoch + 1);
    }
    const moves = rebalancePlan(next, op.shardsAfter);
    await this.ctx.commit({ ...this.ctx.state, map: next, operation: { ...op, stage: 'migrate', moves, done: 0, migration: null, updatedAt: this.ctx.now() } });
    this.ctx.event('Normal', 'RebalancePlanned', `${op.reason}: ${moves.length} migrations, ${moves.reduce((n, m) => n + countSlots(m.slots), 0)} slots`, { id: op.id });
  }

  // ---- migrate --------------------------------------------------------------------

  private async migrate(op: RebalanceOp): Promise<void> {
    if (op.done >= op.moves.length) {
      await this.ctx.commit({ ...this.ctx.state, operation: { ...op, stage: 'remove', migration: null, updatedAt: this.ctx.now() } });
      return;
    }
    const move = op.moves[op.done]!;
    const from = shardById(this.ctx.state, move.from);
    const to = shardById(this.ctx.state, move.to);
    if (from === undefined || to === undefined) return this.fail(op, `shard ${from === undefined ? move.from : move.to} is gone`);
    if (from.failover !== null || to.failover !== null) return; // a change of primary first
    const map = this.ctx.state.map!;
    if (ownsMove(map, move)) return this.finishWhenClean(op, move);
    if (op.migration === null) return this.startMigration(op, move, from, to);
    const ref = op.migration;
    if (from.currentPrimary !== ref.sourceNode || from.epoch !== ref.sourceEpoch) {
      // The source failed over: its migration record went with the old primary.
      if (await this.targetFlipped(to, ref.id)) return this.adoptFlip(op, move);
      await this.ctx.commit({ ...this.ctx.state, operation: { ...op, migration: null, error: `the source ${ref.sourceNode} was replaced during migration ${ref.id}; starting the move again`, updatedAt: this.ctx.now() } });
      this.ctx.event('Warning', 'MigrationRestarted', `${op.id}: source ${ref.sourceNode} was replaced during ${ref.id}; starting the move again from ${from.currentPrimary}`, { id: op.id });
      return;
    }
    let st: MigrationStatus;
    try {
      st = await this.ctx.api(ref.sourceNode)!.get(ref.id);
    } catch (err) {
      if (err instanceof AdminApiError && err.status === 404) {
        // Recorded, but the start never reached the node (the controller stopped in between).
        return this.startOnSource(op, move, ref.sourceNode, ref.id);
      }
      this.ctx.logger.debug('migration status unavailable', { id: ref.id, error: errorText(err) });
      return;
    }
    this.current = st;
    if (st.stage === 'flipped' || st.stage === 'cleanup' || st.stage === 'done') return this.adoptFlip(op, move);
    if (st.stage === 'aborted') {
      await this.ctx.commit({ ...this.ctx.state, operation: { ...op, migration: null, error: `migration ${ref.id} was rolled back: ${st.error ?? 'no reason given'}`, updatedAt: this.ctx.now() } });
      this.ctx.event('Warning', 'MigrationRolledBack', `${op.id}: migration ${ref.id} rolled back (${st.error ?? 'no reason'}); starting the move again`, { id: op.id });
      return;
    }
    if (!st.running && !TERMINAL_STAGES.has(st.stage) && this.ctx.now() - this.lastResumeAt > RESUME_EVERY_MS) {
      this.lastResumeAt = this.ctx.now();
      try {
        await this.ctx.api(ref.sourceNode)!.resume(ref.id);
        this.ctx.logger.info('migration resumed', { id: ref.id, stage: st.stage, error: st.error });
      } catch (err) {
        this.ctx.logger.warn('resuming a migration failed', { id: ref.id, error: errorText(err) });
      }
    }
  }

  private async startMigration(op: RebalanceOp, move: SlotMove, from: ShardState, to: ShardState): Promise<void> {
    const map = this.ctx.state.map!;
    // Both primaries must have the controller's map: the target refuses a source at another epoch.
    for (const n of [from.currentPrimary, to.currentPrimary]) {
      if (this.ctx.observations.get(n)?.mapEpoch !== map.epoch) return;
    }
    const { id: seq, state } = this.ctx.nextId(op.id);
    const id = `${seq}-${move.from}-${move.to}`;
    const operation: RebalanceOp = { ...op, migration: { id, sourceNode: from.currentPrimary, sourceEpoch: from.epoch }, updatedAt: this.ctx.now() };
    await this.ctx.commit({ ...state, operation });
    this.ctx.event('Normal', 'MigrationStarted', `${op.id}: moving ${countSlots(move.slots)} slots from ${move.from} to ${move.to} (${id}, ${op.done + 1} of ${op.moves.length})`, { id: op.id, migration: id });
    await this.startOnSource(operation, move, from.currentPrimary, id);
  }

  private async startOnSource(op: RebalanceOp, move: SlotMove, source: string, id: string): Promise<void> {
    try {
      this.current = await this.ctx.api(source)!.start(id, move.slots, move.to);
    } catch (err) {
      const reason = (err instanceof AdminApiError ? (err.details as { reason?: string } | undefined)?.reason : undefined) ?? '';
      if (reason === 'conflict' || reason === 'exists') return; // already there: the next step reads its status
      await this.ctx.commit({ ...this.ctx.state, operation: { ...op, migration: null, error: `starting ${id} failed: ${errorText(err)}`, updatedAt: this.ctx.now() } });
      this.ctx.logger.warn('starting a migration failed; will retry', { id, error: errorText(err) });
    }
  }

  private async targetFlipped(to: ShardState, id: string): Promise<boolean> {
    try {
      const list = await this.ctx.api(to.currentPrimary)!.list();
      return list.imports.some((i) => i.id === id && i.state === 'flipped');
    } catch {
      return false;
    }
  }

  /** The nodes flipped ownership: the controller's map takes the move (above any epoch it published meanwhile). */
  private async adoptFlip(op: RebalanceOp, move: SlotMove): Promise<void> {
    const map = this.ctx.state.map!;
    if (!ownsMove(map, move)) {
      const next = moveSlots(map, move.slots, move.to, map.epoch + 1);
      await this.ctx.commit({ ...this.ctx.state, map: next });
      this.ctx.logger.info('migration flipped; map updated', { id: op.migration?.id, epoch: next.epoch });
    }
    await this.finishWhenClean(this.ctx.state.operation!, move);
  }

  /** The map has the move; once the source has deleted its copy (or is gone), the move is done. */
  private async finishWhenClean(op: RebalanceOp, move: SlotMove): Promise<void> {
    const ref = op.migration;
    let keys = 0;
    let bytes = 0;
    if (ref !== null) {
      const from = shardById(this.ctx.state, move.from);
      const sameSource = from !== undefined && from.currentPrimary === ref.sourceNode && from.epoch === ref.sourceEpoch;
      if (sameSource) {
        try {
          const st = await this.ctx.api(ref.sourceNode)!.get(ref.id);
          this.current = st;
          if (st.stage !== 'done') {
            if (!st.running && this.ctx.now() - this.lastResumeAt > RESUME_EVERY_MS) {
              this.lastResumeAt = this.ctx.now();
              await this.ctx.api(ref.sourceNode)!.resume(ref.id).catch(() => undefined);
            }
            return;
          }
          keys = st.keysCopied;
          bytes = st.bytesCopied;
        } catch (err) {
          if (!(err instanceof AdminApiError && err.status === 404)) return;
        }
      }
    }
    this.current = null;
    await this.ctx.commit({
      ...this.ctx.state,
      operation: { ...op, done: op.done + 1, migration: null, keysMoved: op.keysMoved + keys, bytesMoved: op.bytesMoved + bytes, error: null, updatedAt: this.ctx.now() },
    });
    this.ctx.event('Normal', 'MigrationFinished', `${op.id}: ${countSlots(move.slots)} slots moved from ${move.from} to ${move.to} (${keys} keys; ${op.done + 1} of ${op.moves.length})`, { id: op.id });
  }

  // ---- remove ---------------------------------------------------------------------

  private async remove(op: RebalanceOp): Promise<void> {
    const state = this.ctx.state;
    let map = state.map!;
    const leaving = state.shards.filter((s) => s.leaving);
    for (const s of leaving) {
      if (map.shards.some((m) => m.id === s.id)) map = withoutShard(map, s.id, map.epoch + 1);
    }
    if (map !== state.map) {
      await this.ctx.commit({ ...state, map });
      return;
    }
    // Every remaining node must have the map without the leaving shards before their nodes go.
    const remaining = state.shards.filter((s) => !s.leaving).flatMap((s) => s.members);
    const behind = remaining.filter((n) => {
      const o = this.ctx.observations.get(n);
      return o?.status != null && o.mapEpoch !== map.epoch;
    });
    if (behind.length > 0) return;
    await this.ctx.commit({ ...state, shards: state.shards.filter((s) => !s.leaving), operation: null });
    const took = this.ctx.now() - op.startedAt;
    this.ctx.event('Normal', 'RebalanceFinished', `${op.reason}: done in ${took} ms (${op.moves.length} migrations, ${op.keysMoved} keys)`, { id: op.id, tookMs: took });
  }

  private async fail(op: RebalanceOp, why: string): Promise<void> {
    if (op.error === why) return;
    await this.ctx.commit({ ...this.ctx.state, operation: { ...op, error: why, updatedAt: this.ctx.now() } });
    this.ctx.event('Warning', 'RebalanceStuck', `${op.id}: ${why}`, { id: op.id });
  }
}

/** Whether the map already gives every slot of the move to its target. */
function ownsMove(map: ClusterMap, move: SlotMove): boolean {
  const to = map.shards.find((s) => s.id === move.to);
  if (to === undefined) return false;
  const owned = new Set(rangesToSlots(to.slots));
  return rangesToSlots(move.slots).every((s) => owned.has(s));
}

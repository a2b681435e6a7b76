/**
 * Rescaling and rebalancing (core/state.ts RebalanceOp), one live migration
 * at a time, each started on the source shard's primary and left to run
 * node to node (docs/architecture.md §4). The controller records which migration it
 * started before starting it, adopts the flip into its map when the nodes
 * report it, and starts the move again under a new id when the record was
 * lost (the source primary failed over) or the migration was rolled back.
 *
 *   add      new shards' nodes get their roles, then join the map with no slots
 *   migrate  moves[done] ... moves[last]
 *   remove   leaving shards (owning nothing now) leave the map, then the state
 *
 * What to do at each stage is decided in core/rebalance-step.ts; this runner
 * makes the node calls and commits what was decided.
 */
import { AdminApiError } from '../../common/admin-client.js';
import type { MigrationStatus } from '../../common/migration.js';
import {
  adoptedMap, afterAdd, afterMigrationStatus, finishedMove, migrateStep, primariesHaveMap, RESUME_EVERY_MS,
  removeStep, restartAfterSourceLost, sameSource, startedMigration, stuck, type RebalanceEvent,
} from '../core/rebalance-step.js';
import type { ControllerState, MigrationRef, RebalanceOp, ShardState, SlotMove } from '../core/state.js';
import { addressBook, mapNodes } from './addresses.js';
import { errorText, type ControllerContext } from './context.js';

/** The trace stage of a rebalance: one span per slot move ("migrate 2/5 s1→s3"). */
function rebalanceStage(op: RebalanceOp): string {
  const move = op.moves[op.done];
  return op.stage === 'migrate' && move !== undefined ? `migrate ${op.done + 1}/${op.moves.length} ${move.from}→${move.to}` : op.stage;
}

export class RebalanceRunner {
  /** The current migration as its source last reported it (for status). */
  current: MigrationStatus | null = null;
  private lastResumeAt = 0;

  constructor(private readonly ctx: ControllerContext) {}

  async step(): Promise<void> {
    for (let i = 0; i < 8; i++) {
      const op = this.ctx.state.operation;
      if (op === null || this.ctx.state.map === null) return;
      this.ctx.traces?.at('rebalance', op.id, op.startedAt, rebalanceStage(op), { 'irisdb.rebalance.reason': op.reason, 'irisdb.rebalance.moves': op.moves.length });
      const before = JSON.stringify([op.stage, op.done, op.migration?.id ?? null]);
      switch (op.stage) {
        case 'add': await this.add(op); break;
        case 'migrate': await this.migrate(op); break;
        case 'remove': await this.remove(op); break;
      }
      const after = this.ctx.state.operation;
      if (after === null || after.id !== op.id) this.ctx.traces?.finish(op.id);
      if (after === null || JSON.stringify([after.stage, after.done, after.migration?.id ?? null]) === before) return;
    }
  }

  /** Commits `state`, then tells the user. */
  private async record(state: ControllerState, event: RebalanceEvent | null, meta: Record<string, unknown>): Promise<void> {
    await this.ctx.commit(state);
    if (event !== null) this.ctx.event(event.type, event.reason, event.message, meta);
  }

  private async add(op: RebalanceOp): Promise<void> {
    const next = afterAdd(this.ctx.state, op, (n) => this.ctx.observations.get(n)?.status ?? null, addressBook(this.ctx), (names) => mapNodes(this.ctx, names), this.ctx.now());
    if (next === null) return; // not ready yet
    await this.record({ ...this.ctx.state, map: next.map, operation: next.operation }, next.event, { id: op.id });
  }

  private async migrate(op: RebalanceOp): Promise<void> {
    const step = migrateStep(this.ctx.state, op);
    switch (step.do) {
      case 'next-stage':
        return this.ctx.commit({ ...this.ctx.state, operation: { ...op, stage: 'remove', migration: null, updatedAt: this.ctx.now() } });
      case 'fail': {
        const s = stuck(op, step.why, this.ctx.now());
        if (s !== null) await this.record({ ...this.ctx.state, operation: s.operation }, s.event, { id: op.id });
        return;
      }
      case 'wait':
        return;
      case 'finish-when-clean':
        return this.finishWhenClean(op, step.move);
      case 'start':
        return this.startMigration(op, step.move, step.from, step.to);
      case 'source-replaced': {
        if (await this.targetFlipped(step.to, step.ref.id)) return this.adoptFlip(op, step.move);
        const r = restartAfterSourceLost(op, step.ref, step.from, this.ctx.now());
        return this.record({ ...this.ctx.state, operation: r.operation }, r.event, { id: op.id });
      }
      case 'check':
        return this.check(op, step.move, step.ref);
    }
  }

  private async check(op: RebalanceOp, move: SlotMove, ref: MigrationRef): Promise<void> {
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
    const next = afterMigrationStatus(op, st, this.ctx.now(), this.lastResumeAt);
    switch (next.do) {
      case 'adopt':
        return this.adoptFlip(op, move);
      case 'restart':
        return this.record({ ...this.ctx.state, operation: next.operation }, next.event, { id: op.id });
      case 'resume':
        this.lastResumeAt = this.ctx.now();
        try {
          await this.ctx.api(ref.sourceNode)!.resume(ref.id);
          this.ctx.logger.info('migration resumed', { id: ref.id, stage: st.stage, error: st.error });
        } catch (err) {
          this.ctx.logger.warn('resuming a migration failed', { id: ref.id, error: errorText(err) });
        }
        return;
      case 'wait':
        return;
    }
  }

  private async startMigration(op: RebalanceOp, move: SlotMove, from: ShardState, to: ShardState): Promise<void> {
    if (!primariesHaveMap(this.ctx.state.map!, from, to, (n) => this.ctx.observations.get(n)?.mapEpoch)) return;
    const { id: seq, state } = this.ctx.nextId(op.id);
    const started = startedMigration(op, move, from, seq, this.ctx.now());
    await this.record({ ...state, operation: started.operation }, started.event, { id: op.id, migration: started.operation.migration!.id });
    await this.startOnSource(started.operation, move, from.currentPrimary, started.operation.migration!.id);
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
    const next = adoptedMap(this.ctx.state.map!, move);
    if (next !== null) {
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
    if (ref !== null && sameSource(this.ctx.state, move, ref)) {
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
    this.current = null;
    const done = finishedMove(op, move, keys, bytes, this.ctx.now());
    await this.record({ ...this.ctx.state, operation: done.operation }, done.event, { id: op.id });
  }

  private async remove(op: RebalanceOp): Promise<void> {
    const step = removeStep(this.ctx.state, op, (n) => {
      const o = this.ctx.observations.get(n);
      return o?.status != null ? o.mapEpoch : undefined;
    }, this.ctx.now());
    switch (step.do) {
      case 'map':
        return this.ctx.commit({ ...this.ctx.state, map: step.map });
      case 'wait':
        return;
      case 'finish':
        return this.record(step.state, step.event, { id: op.id, tookMs: step.tookMs });
    }
  }
}

/**
 * Slot migrations of one node: the outgoing ones it drives as a source
 * primary (one SourceRun each) and the incoming ones it serves as a target
 * (MigrationTarget), the admin operations (start, resume, abort, status)
 * and what must happen at startup before clients are served (re-fence
 * slots whose flip is unresolved, install a flip's map).
 */
import type { BusSocket } from '../replication/bus-socket.js';
import type { Frame } from '../replication/frames.js';
import type { MigrationDeps } from './deps.js';
import { MIGRATION_ID, MigrationError, checkSource, newRecord, overlaps, startupPlan } from './plan.js';
import { askOutcome, busAddressIn, installOrVerify } from './flip-outcome.js';
import { SourceRun, type SourceHost } from './source.js';
import { MigrationStore } from './store.js';
import { MigrationTarget } from './target.js';
import { TERMINAL_STAGES, type MigrationList, type MigrationRecord, type MigrationRequest, type MigrationStatus } from '../../common/migration.js';

/** How long an abort at the fence waits for the target's answer. */
const ABORT_AT_FENCE_WAIT_MS = 10_000;

export class MigrationManager {
  readonly target: MigrationTarget;
  private readonly store: MigrationStore;
  /** Every known outgoing migration, oldest first. */
  private readonly runs: SourceRun[] = [];
  private started = false;
  private closed = false;

  constructor(private readonly deps: MigrationDeps) {
    this.store = new MigrationStore(deps.meta, deps.commits);
    this.target = new MigrationTarget(deps);
    for (const rec of this.store.loadMigrations()) this.runs.push(new SourceRun(this.host, rec));
    deps.metrics.bind({
      stages: () => this.runs.map((r) => ({ id: r.rec.id, stage: r.rec.stage })),
      backlogBytes: () => this.runs.reduce((n, r) => n + r.backlogBytes, 0),
    });
  }

  private get host(): SourceHost {
    return { deps: this.deps, save: (rec: MigrationRecord) => this.save(rec), note: (rec: MigrationRecord) => this.note(rec) };
  }

  /**
   * Startup, before clients are served: slots whose flip is unresolved are
   * fenced again (the target may own them by now), and a flip that was
   * recorded has its map installed.
   */
  restore(): void {
    const d = this.deps;
    for (const run of this.runs) {
      const plan = startupPlan(run.rec);
      if (plan.fence) {
        d.cluster.fence(run.rec.slots);
        run.fenced = true;
        d.logger.warn('slot migration was at its write fence when the node stopped: the slots stay fenced until the target says whether it flipped', { id: run.rec.id });
      }
      if (plan.install && run.rec.newMap !== null) {
        try {
          installOrVerify(d, run.rec.newMap, run.rec);
        } catch (err) {
          // Never serve slots the target may own: fence them until the map is sorted out.
          d.cluster.fence(run.rec.slots);
          run.fenced = true;
          d.logger.error('slot migration: could not install the flipped map at startup; the slots stay fenced', { id: run.rec.id, err: (err as Error).message });
        }
      }
      if (!plan.autoRun && !TERMINAL_STAGES.has(run.rec.stage)) {
        run.rec = { ...run.rec, error: run.rec.error ?? 'interrupted by a restart: resume or abort it' };
        d.logger.warn('slot migration interrupted by a restart: resume or abort it', { id: run.rec.id, stage: run.rec.stage });
      }
    }
    this.target.restore();
  }

  /** Once clients are served: migrations that finish a flip (or must learn its outcome) continue by themselves. */
  start(): void {
    this.started = true;
    for (const run of this.runs) {
      // A flip recorded or in doubt is finished (or learned to have failed); a rolled-back one then waits for resume.
      if (startupPlan(run.rec).autoRun) run.start({ stopIfRolledBack: true });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.target.close();
    await Promise.all(this.runs.map((r) => r.stop('shutting down')));
  }

  /** A first frame on the cluster bus that is not replication. */
  onBusFrame(bus: BusSocket, f: Frame): boolean {
    if (this.closed) return false;
    return this.target.onFirstFrame(bus, f);
  }

  // ---- admin --------------------------------------------------------------------------

  /** POST /admin/cluster/migrations: starts a migration (or returns / resumes the one with this id). */
  create(req: MigrationRequest): MigrationStatus {
    if (!MIGRATION_ID.test(req.id)) throw new MigrationError('bad_request', 'id must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');
    const existing = this.find(req.id);
    if (existing !== undefined) {
      const same = JSON.stringify(existing.rec.slots) === JSON.stringify(req.slots) && existing.rec.targetShard === req.targetShard;
      if (!same) throw new MigrationError('conflict', `migration ${req.id} exists with other slots or another target shard`);
      return this.resume(req.id);
    }
    const d = this.deps;
    if (d.replication.role() !== 'primary') throw new MigrationError('not_owner', `${d.name} is not a primary`);
    for (const r of this.runs) {
      if (TERMINAL_STAGES.has(r.rec.stage)) continue;
      if (r.running || r.rec.stage === 'fence' || r.rec.stage === 'flipped' || r.rec.stage === 'cleanup') {
        throw new MigrationError('busy', `migration ${r.rec.id} is ${r.running ? 'running' : `at stage ${r.rec.stage}`}: one migration at a time per source`);
      }
      if (overlaps(r.rec.slots, req.slots)) throw new MigrationError('busy', `migration ${r.rec.id} (stage ${r.rec.stage}) holds some of these slots: resume or abort it`);
    }
    const map = d.cluster.map;
    const { sourceShard, target } = checkSource(map, d.name, req.slots, req.targetShard);
    const rec = newRecord({ id: req.id, slots: req.slots, source: d.name, sourceShard, target: target.name, targetShard: req.targetShard, mapEpoch: map!.epoch }, d.now());
    const run = new SourceRun(this.host, rec);
    this.runs.push(run);
    this.save(rec);
    d.logger.info('slot migration requested', { id: rec.id, target: target.name, targetShard: rec.targetShard, slots: req.slots });
    if (this.started) run.start();
    return run.status();
  }

  list(): MigrationList {
    return { migrations: this.runs.map((r) => r.status()), imports: this.target.list() };
  }

  get(id: string): MigrationStatus {
    return this.mustFind(id).status();
  }

  /** Restarts a stopped migration (a finished or running one is returned as it is). */
  resume(id: string): MigrationStatus {
    const run = this.mustFind(id);
    if (run.running || TERMINAL_STAGES.has(run.rec.stage)) return run.status();
    // An operator's resume gives failed flips a fresh count.
    if (run.rec.flipFailures > 0) run.rec = { ...run.rec, flipFailures: 0 };
    run.rec = { ...run.rec, error: null };
    if (this.started) run.start();
    return run.status();
  }

  /**
   * Rolls back a migration that has not flipped: stops it and tells the
   * target to drop its copy. At the fence the target decides: if it
   * flipped, the migration completes instead (MigrationError 'flipped').
   */
  async abort(id: string): Promise<MigrationStatus> {
    const run = this.mustFind(id);
    const stage = run.rec.stage;
    if (stage === 'aborted') return run.status();
    if (stage === 'flipped' || stage === 'cleanup' || stage === 'done') {
      throw new MigrationError('flipped', `migration ${id} has flipped (stage ${stage}): it completes instead of rolling back`);
    }
    if (stage === 'fence') {
      if (!run.running) run.start();
      await run.abortAtFence(ABORT_AT_FENCE_WAIT_MS);
      const now = run.rec.stage;
      if (now === 'aborted') return run.status();
      if (now === 'fence') throw new MigrationError('connection', `migration ${id} is fenced and the target has not said whether it flipped yet: try again`);
      throw new MigrationError('flipped', `the target had flipped migration ${id}: it completes instead of rolling back`);
    }
    await run.stop('aborted by the operator');
    const d = this.deps;
    let note: string | null = null;
    try {
      const addr = busAddressIn(d.cluster.map, run.rec.target);
      if (addr === null) throw new Error(`${run.rec.target} is not in the cluster map`);
      const out = await askOutcome(addr, { secret: d.token, name: d.name, tls: d.busTls }, { id, attempt: 0, source: d.name }, 3000);
      if (out.state === 'flipped') {
        // Cannot happen before the fence stage (the flip needs it); never roll back what the target owns.
        throw new MigrationError('flipped', `the target reports migration ${id} flipped: push its map (GET /admin/cluster/map there) to every node`);
      }
    } catch (err) {
      if (err instanceof MigrationError) throw err;
      note = `rolled back here, but the target could not be told (${(err as Error).message}): its partial copy stays until a new import of these slots replaces it`;
    }
    run.rec = { ...run.rec, stage: 'aborted', error: note ?? 'aborted by the operator', updatedAt: d.now() };
    this.save(run.rec);
    d.logger.warn('slot migration aborted', { id, note });
    return run.status();
  }

  private find(id: string): SourceRun | undefined {
    return this.runs.find((r) => r.rec.id === id);
  }

  private mustFind(id: string): SourceRun {
    const run = this.find(id);
    if (run === undefined) throw new MigrationError('not_found', `no migration ${id} on this node`);
    return run;
  }

  private save(rec: MigrationRecord): void {
    this.replace(rec);
    this.store.saveMigrations(this.runs.map((r) => r.rec));
  }

  private note(rec: MigrationRecord): void {
    this.replace(rec);
    this.store.noteMigrations(this.runs.map((r) => r.rec));
  }

  private replace(rec: MigrationRecord): void {
    const run = this.find(rec.id);
    if (run !== undefined) run.rec = rec;
  }
}


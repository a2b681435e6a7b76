/**
 * Slot-migration metrics: keys, bytes and forwarded writes moved (by side:
 * source sent, target applied), the stage of every migration this node
 * knows, how long write fences held, and the write backlog.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { MIGRATION_STAGES, type MigrationStage } from '../../common/migration.js';

export interface MigrationMetrics {
  readonly keys: Counter<'side'>;
  readonly bytes: Counter<'side'>;
  readonly entries: Counter<'side'>;
  readonly fenceSeconds: Histogram<'result'>;
  bind(source: { stages(): ReadonlyArray<{ id: string; stage: MigrationStage }>; backlogBytes(): number }): void;
}

const FENCE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMigrationMetrics(registry: Registry): MigrationMetrics {
  const r = [registry];
  return {
    keys: new Counter({ name: 'irisdb_migration_keys_total', help: 'Keys copied by slot migrations (side: source sent, target applied)', labelNames: ['side'], registers: r }),
    bytes: new Counter({ name: 'irisdb_migration_bytes_total', help: 'Key and value bytes copied by slot migrations (side: source sent, target applied)', labelNames: ['side'], registers: r }),
    entries: new Counter({
      name: 'irisdb_migration_forwarded_writes_total', help: 'Writes to migrating slots forwarded after the snapshot (side: source sent, target applied)',
      labelNames: ['side'], registers: r,
    }),
    fenceSeconds: new Histogram({
      name: 'irisdb_migration_fence_seconds', help: 'How long writes to migrating slots were fenced, by result (flipped, rolled_back)',
      labelNames: ['result'], buckets: FENCE_BUCKETS, registers: r,
    }),
    bind(source) {
      new Gauge({
        name: 'irisdb_migration_stage', help: '1 for the stage each slot migration of this node (as source) is in', labelNames: ['id', 'stage'], registers: r,
        collect() {
          this.reset();
          for (const m of source.stages()) {
            for (const s of MIGRATION_STAGES) this.set({ id: m.id, stage: s }, s === m.stage ? 1 : 0);
          }
        },
      });
      new Gauge({
        name: 'irisdb_migration_backlog_bytes', help: 'Writes to migrating slots waiting to be forwarded to the target (bytes)', registers: r,
        collect() { this.set(source.backlogBytes()); },
      });
    },
  };
}

/** Milliseconds to one decimal, for log lines. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

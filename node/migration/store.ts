/**
 * Durable migration state in the engine's meta table: the source's
 * migration records and the target's import records, each list one JSON
 * row. save() commits in a transaction of its own and syncs before it
 * returns (a stage is durable before the node acts on it); note() joins the
 * current write turn (progress counters, committed with the data they count).
 */
import { parseClusterMap, type SlotRange } from '../../common/cluster-map.js';
import type { MetaStore } from '../engine/open.js';
import type { CommitScheduler } from '../engine/types.js';
import { parseSlotRanges } from './messages.js';
import { MIGRATION_STAGES, TERMINAL_STAGES, type ImportRecord, type ImportState, type MigrationRecord, type MigrationStage } from '../../common/migration.js';

export const MIGRATIONS_META_KEY = 'cluster_migrations';
export const IMPORTS_META_KEY = 'cluster_imports';
/** Finished records kept for the admin API, newest last. */
const KEEP_FINISHED = 50;

export class MigrationStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationStoreError';
  }
}

export class MigrationStore {
  constructor(private readonly meta: MetaStore, private readonly commits: CommitScheduler) {}

  loadMigrations(): MigrationRecord[] {
    return this.load(MIGRATIONS_META_KEY, parseMigrationRecord);
  }

  loadImports(): ImportRecord[] {
    return this.load(IMPORTS_META_KEY, parseImportRecord);
  }

  /** Durable before it returns. */
  saveMigrations(records: readonly MigrationRecord[]): void {
    this.saveNow(MIGRATIONS_META_KEY, prune(records, (r) => TERMINAL_STAGES.has(r.stage)));
  }

  saveImports(records: readonly ImportRecord[]): void {
    this.saveNow(IMPORTS_META_KEY, prune(records, (r) => r.state !== 'importing'));
  }

  /** Within the current write turn (no sync of its own). */
  noteMigrations(records: readonly MigrationRecord[]): void {
    this.meta.set(MIGRATIONS_META_KEY, JSON.stringify(prune(records, (r) => TERMINAL_STAGES.has(r.stage))));
  }

  noteImports(records: readonly ImportRecord[]): void {
    this.meta.set(IMPORTS_META_KEY, JSON.stringify(prune(records, (r) => r.state !== 'importing')));
  }

  private saveNow(key: string, records: readonly unknown[]): void {
    // Whatever the open turn holds commits first; then the record alone, synced.
    this.commits.flushNow();
    this.meta.set(key, JSON.stringify(records));
    this.commits.flushNow();
  }

  private load<T>(key: string, parse: (v: unknown, i: number) => T): T[] {
    const raw = this.meta.get(key);
    if (raw === undefined || raw === null) return [];
    if (typeof raw !== 'string') throw new MigrationStoreError(`meta row ${key} is not JSON text`);
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch (err) {
      throw new MigrationStoreError(`meta row ${key} is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(v)) throw new MigrationStoreError(`meta row ${key} must hold an array`);
    return v.map(parse);
  }
}

/** Every unfinished record, and the last KEEP_FINISHED finished ones. */
function prune<T>(records: readonly T[], finished: (r: T) => boolean): T[] {
  let finishedLeft = records.filter(finished).length - KEEP_FINISHED;
  return records.filter((r) => {
    if (finishedLeft > 0 && finished(r)) {
      finishedLeft--;
      return false;
    }
    return true;
  });
}

function fields(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new MigrationStoreError(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function int(o: Record<string, unknown>, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new MigrationStoreError(`${what}.${k} is not a non-negative integer`);
  return v;
}

function str(o: Record<string, unknown>, k: string, what: string): string {
  const v = o[k];
  if (typeof v !== 'string') throw new MigrationStoreError(`${what}.${k} is not a string`);
  return v;
}

function slots(o: Record<string, unknown>, what: string): SlotRange[] {
  const r = parseSlotRanges(o.slots);
  if (r === null) throw new MigrationStoreError(`${what}.slots is not a list of slot ranges`);
  return r;
}

export function parseMigrationRecord(v: unknown, i = 0): MigrationRecord {
  const what = `migration record ${i}`;
  const o = fields(v, what);
  const stage = o.stage as MigrationStage;
  if (!MIGRATION_STAGES.includes(stage)) throw new MigrationStoreError(`${what}.stage ${String(o.stage)} is not a stage`);
  const error = o.error;
  if (error !== null && typeof error !== 'string') throw new MigrationStoreError(`${what}.error is not a string or null`);
  return {
    id: str(o, 'id', what), slots: slots(o, what), source: str(o, 'source', what), sourceShard: str(o, 'sourceShard', what),
    target: str(o, 'target', what), targetShard: str(o, 'targetShard', what), stage,
    attempt: int(o, 'attempt', what), mapEpoch: int(o, 'mapEpoch', what),
    newMap: o.newMap === null || o.newMap === undefined ? null : parseClusterMap(o.newMap),
    flipFailures: int(o, 'flipFailures', what), keysCopied: int(o, 'keysCopied', what), bytesCopied: int(o, 'bytesCopied', what),
    entriesForwarded: int(o, 'entriesForwarded', what), keysDeleted: int(o, 'keysDeleted', what),
    startedAt: int(o, 'startedAt', what), updatedAt: int(o, 'updatedAt', what), error,
  };
}

const IMPORT_STATES: readonly ImportState[] = ['importing', 'flipped', 'aborted'];

export function parseImportRecord(v: unknown, i = 0): ImportRecord {
  const what = `import record ${i}`;
  const o = fields(v, what);
  const state = o.state as ImportState;
  if (!IMPORT_STATES.includes(state)) throw new MigrationStoreError(`${what}.state ${String(o.state)} is not an import state`);
  return {
    id: str(o, 'id', what), slots: slots(o, what), source: str(o, 'source', what), sourceShard: str(o, 'sourceShard', what),
    targetShard: str(o, 'targetShard', what), attempt: int(o, 'attempt', what), mapEpoch: int(o, 'mapEpoch', what), state,
    keysImported: int(o, 'keysImported', what), bytesImported: int(o, 'bytesImported', what), entriesApplied: int(o, 'entriesApplied', what),
    startedAt: int(o, 'startedAt', what), updatedAt: int(o, 'updatedAt', what),
  };
}

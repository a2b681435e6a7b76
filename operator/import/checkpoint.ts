/**
 * The import's checkpoint, DIR/import-checkpoint.json: per source node its
 * SCAN cursor (the batches before it are written to IrisDB) and the
 * counters so far. Written atomically (a temporary file renamed over it)
 * after every batch, removed when the import ends. A rerun from the same
 * source resumes from it: SCAN returns every key present the whole time at
 * least once, so keys written before the interruption are not lost, and
 * the batch in flight is simply copied again.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImportCounts } from './import-counts.js';

export const CHECKPOINT_FILE = 'import-checkpoint.json';

export interface ImportCheckpoint {
  readonly version: 1;
  /** The source, password redacted: a checkpoint of another source is never resumed. */
  readonly source: string;
  /** Per source node ("host:port"): the next SCAN cursor, "0" with done when finished. */
  readonly nodes: Record<string, { cursor: string; done: boolean }>;
  readonly counts: ImportCounts;
}

/** A checkpoint file's JSON object, or null when the text is not one. Pure. */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : null;
}

/** A count in a checkpoint: a whole number >= 0. */
export const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Whether a checkpoint's `counts` is a well-formed ImportCounts. Pure. */
export function isImportCounts(c: unknown): c is ImportCounts {
  if (typeof c !== 'object' || c === null) return false;
  const k = c as Partial<ImportCounts>;
  return [k.scanned, k.copied, k.withTtl, k.vanished].every(isCount) && typeof k.skippedByType === 'object' && k.skippedByType !== null;
}

/** Parses a checkpoint file's text; null when it is not one. Pure. */
export function parseCheckpoint(text: string): ImportCheckpoint | null {
  const d = parseJsonObject(text) as Partial<ImportCheckpoint> | null;
  if (d === null || d.version !== 1 || typeof d.source !== 'string' || typeof d.nodes !== 'object' || d.nodes === null || !isImportCounts(d.counts)) return null;
  for (const n of Object.values(d.nodes)) {
    if (typeof n !== 'object' || n === null || typeof n.cursor !== 'string' || !/^\d{1,20}$/.test(n.cursor) || typeof n.done !== 'boolean') return null;
  }
  return d as ImportCheckpoint;
}

/** A checkpoint file (the SCAN import's by default; follow-checkpoint.ts's for --follow). */
export class CheckpointFile<T = ImportCheckpoint> {
  readonly file: string;
  constructor(dir: string, name = CHECKPOINT_FILE, private readonly parse: (text: string) => T | null = parseCheckpoint as unknown as (text: string) => T | null) {
    this.file = path.join(dir, name);
  }

  async read(): Promise<T | null | 'corrupt'> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    return this.parse(text) ?? 'corrupt';
  }

  async write(cp: T): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(cp));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, this.file);
  }

  async remove(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}

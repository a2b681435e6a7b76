/**
 * The initial copy of one source node: SCAN a batch of keys, read each
 * one's value and PTTL in one pipeline over a plain RESP connection
 * (resp-source.ts; TYPE for those that are not strings), write the strings to IrisDB (SET ... PX, auto-pipelined to
 * their owners), then record the cursor. The next batches are read while
 * earlier ones are written; a cursor is recorded only once its batch and
 * every one before it are acknowledged by IrisDB.
 */
import type { Cluster } from 'ioredis';
import type { ImportCounts } from './import-counts.js';
import { RespErrorReply } from './resp-reply.js';
import type { SourcePipeline } from './resp-source.js';

const GET = Buffer.from('GET');
const PTTL = Buffer.from('PTTL');
const TYPE = Buffer.from('TYPE');

export interface ScanBatch {
  readonly next: string;
  readonly keys: number;
  readonly strings: { key: Buffer; value: Buffer; pttl: number }[];
  readonly others: Record<string, number>;
  vanished: number;
  /** Of `strings`, the keys IrisDB refused (NOPERM), set by the writer. */
  refused: Buffer[];
}

/**
 * SCAN's COUNT at most: one SCAN call runs on the source's only thread for
 * about this many keys' worth of work (2 ms here at a load average of 15;
 * COUNT 9000 took 20 ms), so a larger batch is gathered from several calls
 * instead of blocking the source's clients longer.
 */
export const MAX_SCAN_COUNT = 1000;

/** SCAN calls from `cursor` until `count` keys are gathered or the iteration ends; returns the keys and the next cursor. */
async function scanKeys(source: SourcePipeline, cursor: string, count: number): Promise<{ keys: Buffer[]; next: string }> {
  const keys: Buffer[] = [];
  do {
    const [scan] = await source.pipeline([['SCAN', cursor, 'COUNT', String(Math.min(count, MAX_SCAN_COUNT))]]);
    if (scan instanceof RespErrorReply) throw new Error(`source SCAN failed: ${scan.message}`);
    if (!Array.isArray(scan) || scan.length !== 2 || !Buffer.isBuffer(scan[0]) || !Array.isArray(scan[1])) throw new Error('source SCAN: an unexpected reply');
    cursor = scan[0].toString('latin1');
    for (const k of scan[1] as Buffer[]) keys.push(k);
  } while (cursor !== '0' && keys.length < count);
  return { keys, next: cursor };
}

/** Reads one batch of `source` from `cursor`: SCAN (in calls of at most MAX_SCAN_COUNT), then one pipeline of GET + PTTL per key, TYPE for the keys that are not strings. */
export async function readBatch(source: SourcePipeline, cursor: string, count: number): Promise<ScanBatch> {
  const { keys, next } = await scanKeys(source, cursor, count);
  const batch: ScanBatch = { next, keys: keys.length, strings: [], others: {}, vanished: 0, refused: [] };
  if (keys.length === 0) return batch;
  const cmds: Buffer[][] = [];
  for (const k of keys) cmds.push([GET, k], [PTTL, k]);
  const res = await source.pipeline(cmds);
  const notString: Buffer[] = [];
  for (let i = 0; i < keys.length; i++) {
    const value = res[2 * i];
    const pttl = res[2 * i + 1];
    if (value instanceof RespErrorReply) {
      if (/^WRONGTYPE/.test(value.message)) notString.push(keys[i]!);
      else throw new Error(`source GET failed: ${value.message}`);
      continue;
    }
    if (pttl instanceof RespErrorReply) throw new Error(`source PTTL failed: ${pttl.message}`);
    if (typeof pttl !== 'number' || (value !== null && !Buffer.isBuffer(value))) throw new Error('source GET/PTTL: an unexpected reply');
    if (value === null || pttl === -2) {
      batch.vanished++;
      continue;
    }
    batch.strings.push({ key: keys[i]!, value, pttl });
  }
  if (notString.length > 0) {
    for (const type of await source.pipeline(notString.map((k) => [TYPE, k]))) {
      if (type instanceof RespErrorReply) throw new Error(`source TYPE failed: ${type.message}`);
      if (type === 'none') batch.vanished++;
      else batch.others[String(type)] = (batch.others[String(type)] ?? 0) + 1;
    }
  }
  return batch;
}

/** Writes a batch's strings to IrisDB; resolves when every write is acknowledged. */
export async function writeBatch(target: Cluster, batch: ScanBatch): Promise<void> {
  await Promise.all(batch.strings.map((s) => (s.pttl > 0 ? target.set(s.key, s.value, 'PX', s.pttl) : target.set(s.key, s.value))));
}

export function addBatch(c: ImportCounts, b: ScanBatch): void {
  c.scanned += b.keys;
  const refused = new Set(b.refused);
  const written = refused.size === 0 ? b.strings : b.strings.filter((s) => !refused.has(s.key));
  c.copied += written.length;
  c.withTtl += written.filter((s) => s.pttl > 0).length;
  if (b.refused.length > 0) c.refused = (c.refused ?? 0) + b.refused.length;
  c.vanished += b.vanished;
  for (const [t, n] of Object.entries(b.others)) c.skippedByType[t] = (c.skippedByType[t] ?? 0) + n;
}

export interface CopyNodeOptions {
  readonly batch: number;
  /** Batches being written at once (their writes overlap; SCAN itself is sequential). */
  readonly inFlight: number;
  readonly signal: AbortSignal;
  /** Writes a batch's strings to IrisDB; resolves once every one is acknowledged (default: SETs through the Cluster client). */
  readonly write?: (b: ScanBatch) => Promise<void>;
  /** After each batch is written, in SCAN order: its counts are in, `cursor` is the next one ('0' with done). */
  readonly onWritten: (b: ScanBatch, cursor: string, done: boolean) => Promise<void>;
}

/**
 * Copies one source node from `cursor` until SCAN ends or the signal
 * aborts; returns whether it finished. Up to `inFlight` batches are written
 * at once, but a batch is reported (and its cursor recorded) only after
 * every batch before it, so the recorded cursor never passes a key that is
 * not yet in IrisDB.
 */
export async function copyNode(source: SourcePipeline, target: Cluster, cursor: string, opts: CopyNodeOptions): Promise<boolean> {
  const inFlight: { batch: ScanBatch; written: Promise<void> }[] = [];
  let scanDone = false;
  try {
    for (;;) {
      while (!scanDone && !opts.signal.aborted && inFlight.length < opts.inFlight) {
        const batch = await readBatch(source, cursor, opts.batch);
        cursor = batch.next;
        scanDone = batch.next === '0';
        const written = opts.write !== undefined ? opts.write(batch) : writeBatch(target, batch);
        written.catch(() => {}); // awaited in order below
        inFlight.push({ batch, written });
      }
      const head = inFlight.shift();
      if (head === undefined) return scanDone;
      await head.written;
      await opts.onWritten(head.batch, head.batch.next, head.batch.next === '0');
    }
  } finally {
    // On an error, let the other writes settle before the caller disconnects.
    await Promise.allSettled(inFlight.map((f) => f.written));
  }
}

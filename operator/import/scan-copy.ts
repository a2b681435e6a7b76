/**
 * The initial copy of one source node: SCAN a batch of keys, read each
 * one's value and PTTL in one pipeline (TYPE for those that are not
 * strings), write the strings to IrisDB (SET ... PX, auto-pipelined to
 * their owners), then record the cursor. The next batches are read while
 * earlier ones are written; a cursor is recorded only once its batch and
 * every one before it are acknowledged by IrisDB.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ImportCounts } from './import-counts.js';

export interface ScanBatch {
  readonly next: string;
  readonly keys: number;
  readonly strings: { key: Buffer; value: Buffer; pttl: number }[];
  readonly others: Record<string, number>;
  vanished: number;
  /** Of `strings`, the keys IrisDB refused (NOPERM), set by the writer. */
  refused: Buffer[];
}

/** Reads one SCAN batch of `source` from `cursor`. */
export async function readBatch(source: Redis, cursor: string, count: number): Promise<ScanBatch> {
  const [next, keys] = await source.scanBuffer(cursor, 'COUNT', count);
  const batch: ScanBatch = { next: next.toString(), keys: keys.length, strings: [], others: {}, vanished: 0, refused: [] };
  if (keys.length === 0) return batch;
  const p = source.pipeline();
  for (const k of keys) p.getBuffer(k).pttl(k);
  const res = (await p.exec()) ?? [];
  const notString: Buffer[] = [];
  for (let i = 0; i < keys.length; i++) {
    const [gerr, value] = res[2 * i] ?? [new Error('no reply'), null];
    const [terr, pttl] = res[2 * i + 1] ?? [new Error('no reply'), null];
    if (gerr !== null) {
      if (/WRONGTYPE/.test(gerr.message)) notString.push(keys[i]!);
      else throw new Error(`source GET failed: ${gerr.message}`);
      continue;
    }
    if (terr !== null) throw new Error(`source PTTL failed: ${terr.message}`);
    const t = Number(pttl);
    if (value === null || t === -2) {
      batch.vanished++;
      continue;
    }
    batch.strings.push({ key: keys[i]!, value: value as Buffer, pttl: t });
  }
  if (notString.length > 0) {
    const tp = source.pipeline();
    for (const k of notString) tp.type(k);
    for (const [err, type] of (await tp.exec()) ?? []) {
      if (err !== null) throw new Error(`source TYPE failed: ${err.message}`);
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
export async function copyNode(source: Redis, target: Cluster, cursor: string, opts: CopyNodeOptions): Promise<boolean> {
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

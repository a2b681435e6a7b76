/**
 * The initial copy of one source node: SCAN a batch of keys, read each
 * one's value and PTTL in one pipeline (TYPE for those that are not
 * strings), write the strings to IrisDB (SET ... PX, auto-pipelined to
 * their owners), then record the cursor. The next batch is read while the
 * current one is written; the cursor is recorded only once its batch is
 * acknowledged by IrisDB.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ImportCounts } from './import-counts.js';

export interface ScanBatch {
  readonly next: string;
  readonly keys: number;
  readonly strings: { key: Buffer; value: Buffer; pttl: number }[];
  readonly others: Record<string, number>;
  vanished: number;
}

/** Reads one SCAN batch of `source` from `cursor`. */
export async function readBatch(source: Redis, cursor: string, count: number): Promise<ScanBatch> {
  const [next, keys] = await source.scanBuffer(cursor, 'COUNT', count);
  const batch: ScanBatch = { next: next.toString(), keys: keys.length, strings: [], others: {}, vanished: 0 };
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
  c.copied += b.strings.length;
  c.withTtl += b.strings.filter((s) => s.pttl > 0).length;
  c.vanished += b.vanished;
  for (const [t, n] of Object.entries(b.others)) c.skippedByType[t] = (c.skippedByType[t] ?? 0) + n;
}

export interface CopyNodeOptions {
  readonly batch: number;
  readonly signal: AbortSignal;
  /** After each batch is written: its counts are in, `cursor` is the next one ('0' with done). */
  readonly onWritten: (b: ScanBatch, cursor: string, done: boolean) => Promise<void>;
}

/** Copies one source node from `cursor` until SCAN ends or the signal aborts; returns whether it finished. */
export async function copyNode(source: Redis, target: Cluster, cursor: string, opts: CopyNodeOptions): Promise<boolean> {
  let reading: Promise<ScanBatch> | null = readBatch(source, cursor, opts.batch);
  while (reading !== null) {
    const batch: ScanBatch = await reading;
    const done = batch.next === '0';
    // Read ahead while this batch is written.
    reading = done || opts.signal.aborted ? null : readBatch(source, batch.next, opts.batch);
    reading?.catch(() => {}); // awaited next round; not unhandled if the write below throws first
    await writeBatch(target, batch);
    await opts.onWritten(batch, batch.next, done);
    if (done) return true;
    if (opts.signal.aborted) {
      // The read-ahead is dropped: its cursor was not recorded.
      return false;
    }
  }
  return false;
}

/**
 * Worker thread of a shard backup (docs/backup.md, "what limits foreground
 * throughput"): reads the snapshot on its own read-only SQLite connection,
 * digests, encodes and compresses the chunks (snapshot-chunk-builder.ts),
 * and hands each finished chunk to the node's thread, which uploads it. The
 * thread first lowers its own CPU priority (Linux: setpriority on its thread
 * id), so on a busy machine the node's threads, which serve clients and
 * apply replication, get the CPU first.
 *
 * Protocol: workerData is SnapshotWorkerData; the worker posts
 * SnapshotWorkerEvents; the node posts a number (more chunks it may build
 * ahead) or 'stop'. The worker never has more than its credit outstanding,
 * so memory stays at a few chunks whatever the upload speed.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { SlotRange } from '../../common/cluster-map.js';
import type { ChunkCompression } from '../../common/backup/manifest.js';
import type { SlotDigest } from '../../common/replication.js';
import { SnapshotReader, rowBytes } from '../replication/snapshot.js';
import { SnapshotChunkBuilder } from './snapshot-chunk-builder.js';
import { Keyring } from '../crypto/keyring.js';
import type { EncryptionKey } from '../crypto/keyring-file.js';
import { paceDelayMs } from './pace.js';

export interface SnapshotWorkerData {
  readonly dbFile: string;
  readonly slots: readonly SlotRange[];
  readonly now: number;
  readonly compression: ChunkCompression;
  readonly chunkBytes: number;
  readonly maxBytesPerSecond: number | null;
  /** Nice value for this thread (0..19; 0 leaves it as the node's). */
  readonly niceness: number;
  /** Encryption at rest: the node's keys, to decrypt values for the digests (null: values in clear). */
  readonly keys?: readonly EncryptionKey[] | null;
}

export type SnapshotWorkerEvent =
  | { readonly type: 'opened'; readonly seq: number; readonly totalKeys: number; readonly niceness: number | null }
  | { readonly type: 'progress'; readonly keysDone: number }
  | { readonly type: 'chunk'; readonly body: Uint8Array; readonly rawBytes: number; readonly keys: number }
  | { readonly type: 'done'; readonly slotDigests: SlotDigest[] }
  | { readonly type: 'error'; readonly message: string };

/** One synchronous read slice. */
const PAGE_BYTES = 128 * 1024;
const PAGE_ROWS = 1000;

const port = parentPort;
if (port === null) throw new Error('snapshot-worker must run in a worker thread');
const data = workerData as SnapshotWorkerData;

let credit = 0;
let stopped = false;
let wake: (() => void) | null = null;
port.on('message', (msg: unknown) => {
  if (msg === 'stop') stopped = true;
  else if (typeof msg === 'number') credit += msg;
  wake?.();
  wake = null;
});

function post(e: SnapshotWorkerEvent, transfer?: ArrayBuffer[]): void {
  port!.postMessage(e, transfer);
}

async function waitForCredit(): Promise<void> {
  while (credit <= 0 && !stopped) await new Promise<void>((resolve) => (wake = resolve));
}

/** This thread's nice value raised to `niceness`; the value in effect, or null where threads cannot be told apart. */
function lowerPriority(niceness: number): number | null {
  if (niceness <= 0) return null;
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>": setpriority on a tid applies to that thread only (Linux).
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return null;
    os.setPriority(tid, Math.max(os.getPriority(tid), niceness));
    return os.getPriority(tid);
  } catch {
    return null;
  }
}

async function run(): Promise<void> {
  const niceness = lowerPriority(data.niceness);
  const reader = new SnapshotReader(data.dbFile);
  try {
    post({ type: 'opened', seq: reader.seq, totalKeys: reader.totalKeys, niceness });
    const builder = new SnapshotChunkBuilder(data.slots, data.now, data.compression, data.chunkBytes, data.keys != null ? new Keyring(data.keys) : null);
    let keysDone = 0;
    let readBytes = 0;
    const startedMs = performance.now();
    for (;;) {
      if (stopped) return;
      const page = reader.next(PAGE_BYTES, PAGE_ROWS);
      const chunk = page === null ? builder.flush() : builder.add(page);
      if (page !== null) {
        keysDone += page.length;
        for (const r of page) readBytes += rowBytes(r.key, r.value);
        post({ type: 'progress', keysDone });
      }
      if (chunk !== null) {
        await waitForCredit();
        if (stopped) return;
        credit--;
        const body = new Uint8Array(chunk.body.buffer, chunk.body.byteOffset, chunk.body.length);
        post({ type: 'chunk', body, rawBytes: chunk.rawBytes, keys: chunk.keys }, chunk.body.byteOffset === 0 && chunk.body.byteLength === chunk.body.buffer.byteLength ? [chunk.body.buffer as ArrayBuffer] : undefined);
      }
      if (page === null) {
        post({ type: 'done', slotDigests: builder.slotDigests() });
        return;
      }
      const wait = paceDelayMs(readBytes, performance.now() - startedMs, data.maxBytesPerSecond);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  } finally {
    reader.close();
  }
}

run().catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));

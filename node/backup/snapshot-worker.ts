/**
 * Child process of a shard backup (docs/backup.md, "what limits foreground
 * throughput"): reads the snapshot on its own read-only SQLite connection,
 * digests, encodes and compresses the chunks (snapshot-chunk-builder.ts),
 * and hands each finished chunk to the node over the IPC channel; the node
 * uploads it. A process, not a thread of the node: where the kernel groups
 * CPU time by session (autogroup, the default on desktop and VM kernels for
 * processes outside a cgroup), time a thread uses is charged to the node's
 * whole group, so even an idle-priority thread delayed the node's own
 * threads. Spawned in its own session (its own group), it lowers that
 * group's and its own priority (backup-priority.ts), so clients and
 * replication get the CPU first on a busy machine.
 *
 * Protocol: the node sends a SnapshotWorkerStart first, then numbers (more
 * chunks the worker may build ahead) or 'stop'; the worker sends
 * SnapshotWorkerEvents. The worker never has more than its credit
 * outstanding, so memory stays at a few chunks whatever the upload speed.
 * It exits when the channel closes (the node stopped or died).
 */
import { performance } from 'node:perf_hooks';
import type { SlotRange } from '../../common/cluster-map.js';
import type { ChunkCompression } from '../../common/backup/manifest.js';
import type { SlotDigest } from '../../common/replication.js';
import { SnapshotReader, rowBytes } from '../replication/snapshot.js';
import { SnapshotChunkBuilder } from './snapshot-chunk-builder.js';
import { Keyring } from '../crypto/keyring.js';
import type { EncryptionKey } from '../crypto/keyring-file.js';
import { paceDelayMs } from './pace.js';
import { lowerOwnPriority } from './backup-priority.js';

export interface SnapshotWorkerData {
  readonly dbFile: string;
  readonly slots: readonly SlotRange[];
  readonly now: number;
  readonly compression: ChunkCompression;
  readonly chunkBytes: number;
  readonly maxBytesPerSecond: number | null;
  /** Nice value for this process and its session's group (0..19; 0 leaves it as the node's). */
  readonly niceness: number;
  /** Encryption at rest: the node's keys, to decrypt values for the digests (null: values in clear). */
  readonly keys?: readonly EncryptionKey[] | null;
}

export interface SnapshotWorkerStart {
  readonly type: 'start';
  readonly data: SnapshotWorkerData;
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

if (process.send === undefined) throw new Error('snapshot-worker must run as a child process with an IPC channel');

let credit = 0;
let stopped = false;
let wake: (() => void) | null = null;
let start: ((data: SnapshotWorkerData) => void) | null = null;
const started = new Promise<SnapshotWorkerData>((resolve) => (start = resolve));
process.on('message', (msg: unknown) => {
  if (msg === 'stop') stopped = true;
  else if (typeof msg === 'number') credit += msg;
  else if (typeof msg === 'object' && msg !== null && (msg as SnapshotWorkerStart).type === 'start') start?.((msg as SnapshotWorkerStart).data);
  wake?.();
  wake = null;
});
// The node stopped or died: nothing is left to read for.
process.on('disconnect', () => process.exit(0));

function post(e: SnapshotWorkerEvent): Promise<void> {
  return new Promise((resolve, reject) => process.send!(e, undefined, {}, (err) => (err === null ? resolve() : reject(err))));
}

async function waitForCredit(): Promise<void> {
  while (credit <= 0 && !stopped) await new Promise<void>((resolve) => (wake = resolve));
}

async function run(): Promise<void> {
  const data = await started;
  const niceness = lowerOwnPriority(data.niceness);
  const reader = new SnapshotReader(data.dbFile);
  try {
    await post({ type: 'opened', seq: reader.seq, totalKeys: reader.totalKeys, niceness });
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
        // Not awaited (progress only); a closed channel ends the process through 'disconnect'.
        post({ type: 'progress', keysDone }).catch(() => {});
      }
      if (chunk !== null) {
        await waitForCredit();
        if (stopped) return;
        credit--;
        // Awaited: the chunk is in the channel before the next one is built.
        await post({ type: 'chunk', body: new Uint8Array(chunk.body.buffer, chunk.body.byteOffset, chunk.body.length), rawBytes: chunk.rawBytes, keys: chunk.keys });
      }
      if (page === null) {
        await post({ type: 'done', slotDigests: builder.slotDigests() });
        return;
      }
      const wait = paceDelayMs(readBytes, performance.now() - startedMs, data.maxBytesPerSecond);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  } finally {
    reader.close();
  }
}

run().catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) })).catch(() => process.exit(1));

/**
 * Child process of a shard backup (docs/backup.md, "what limits foreground
 * throughput"): reads the snapshot on its own read-only SQLite connection,
 * digests, encodes and compresses the chunks (snapshot-chunk-builder.ts),
 * and stores each chunk in the destination itself (chunk-store.ts), opened
 * from the job's destination (job-destination.ts) sent in the start
 * message. The node only receives each stored chunk's description (key,
 * checksum, sizes) and writes the shard manifest: no chunk crosses the IPC
 * channel or the node's heap, and the chunk writes and fsyncs are this
 * process's, not the node's event loop's.
 *
 * A process, not a thread of the node: where the kernel groups CPU time by
 * session (autogroup, the default on desktop and VM kernels for processes
 * outside a cgroup), time a thread uses is charged to the node's whole
 * group, so even an idle-priority thread delayed the node's own threads.
 * Spawned in its own session (its own group), it lowers that group's and
 * its own priority (backup-priority.ts), so clients and replication get the
 * CPU first on a busy machine.
 *
 * Protocol: the node sends one SnapshotWorkerStart; the worker sends
 * SnapshotWorkerEvents. It exits when the channel closes (the node stopped
 * or died), abandoning a put mid-way (a file destination's partial file is
 * never listed, an S3 object appears only once complete).
 */
import { performance } from 'node:perf_hooks';
import type { SlotRange } from '../../common/cluster-map.js';
import type { ChunkCompression, ChunkEntry } from '../../common/backup/manifest.js';
import type { SlotDigest } from '../../common/replication.js';
import { SnapshotReader, rowBytes } from '../replication/snapshot.js';
import { SnapshotChunkBuilder } from './snapshot-chunk-builder.js';
import { Keyring } from '../crypto/keyring.js';
import type { EncryptionKey } from '../crypto/keyring-file.js';
import { cpuBudgetDelayMs, paceDelayMs } from './pace.js';
import { lowerOwnPriority } from './backup-priority.js';
import { ChunkStore } from './chunk-store.js';
import { openJobDestination, type JobDestination } from './job-destination.js';

export interface SnapshotWorkerData {
  readonly backupId: string;
  readonly shard: string;
  readonly destination: JobDestination;
  readonly dbFile: string;
  readonly slots: readonly SlotRange[];
  readonly now: number;
  readonly compression: ChunkCompression;
  readonly chunkBytes: number;
  readonly maxBytesPerSecond: number | null;
  /** CPU budget: percent of one core this process may use on average (--backup-cpu-percent; 100: none). */
  readonly cpuPercent: number;
  /** Nice value for this process and its session's group (0..19; 0 leaves it as the node's). */
  readonly niceness: number;
  /** Encryption at rest: the node's keys (the last active), to decrypt values for the digests and seal the chunks (null: off). */
  readonly keys?: readonly EncryptionKey[] | null;
}

export interface SnapshotWorkerStart {
  readonly type: 'start';
  readonly data: SnapshotWorkerData;
}

export type SnapshotWorkerEvent =
  | { readonly type: 'opened'; readonly seq: number; readonly totalKeys: number; readonly niceness: number | null }
  | { readonly type: 'progress'; readonly keysDone: number }
  | { readonly type: 'stored'; readonly chunk: ChunkEntry }
  | { readonly type: 'done'; readonly slotDigests: SlotDigest[]; readonly cpu: SnapshotCpuUse }
  | { readonly type: 'error'; readonly message: string };

/** What the snapshot's read, digests, compression and stores cost this process (its own process.cpuUsage()), from its first read to its last store. */
export interface SnapshotCpuUse {
  readonly cpuSeconds: number;
  readonly seconds: number;
  /** The budget it ran under (percent of one core; 100: none). */
  readonly cpuPercent: number;
}

/** One synchronous read slice. */
const PAGE_BYTES = 128 * 1024;
const PAGE_ROWS = 1000;

if (process.send === undefined) throw new Error('snapshot-worker must run as a child process with an IPC channel');

let start: ((data: SnapshotWorkerData) => void) | null = null;
const started = new Promise<SnapshotWorkerData>((resolve) => (start = resolve));
process.on('message', (msg: unknown) => {
  if (typeof msg === 'object' && msg !== null && (msg as SnapshotWorkerStart).type === 'start') start?.((msg as SnapshotWorkerStart).data);
});
// The node stopped or died: nothing is left to read or store for.
process.on('disconnect', () => process.exit(0));

function post(e: SnapshotWorkerEvent): Promise<void> {
  return new Promise((resolve, reject) => process.send!(e, undefined, {}, (err) => (err === null ? resolve() : reject(err))));
}

async function run(): Promise<void> {
  const data = await started;
  const niceness = lowerOwnPriority(data.niceness);
  const keyring = data.keys != null ? new Keyring(data.keys) : null;
  const destination = openJobDestination(data.destination);
  const reader = new SnapshotReader(data.dbFile);
  try {
    await post({ type: 'opened', seq: reader.seq, totalKeys: reader.totalKeys, niceness });
    const builder = new SnapshotChunkBuilder(data.slots, data.now, data.compression, data.chunkBytes, keyring);
    const store = new ChunkStore(destination, keyring, data.backupId, data.shard, (chunk) => post({ type: 'stored', chunk }));
    let keysDone = 0;
    let readBytes = 0;
    const startedMs = performance.now();
    const cpu0 = process.cpuUsage();
    const cpuMs = (): number => {
      const c = process.cpuUsage(cpu0);
      return (c.user + c.system) / 1000;
    };
    for (;;) {
      const page = reader.next(PAGE_BYTES, PAGE_ROWS);
      const chunk = page === null ? builder.flush() : builder.add(page);
      if (page !== null) {
        keysDone += page.length;
        for (const r of page) readBytes += rowBytes(r.key, r.value);
        // Not awaited (progress only); a closed channel ends the process through 'disconnect'.
        post({ type: 'progress', keysDone }).catch(() => {});
      }
      if (chunk !== null) await store.add(chunk);
      if (page === null) {
        await store.drain();
        const slotDigests = builder.slotDigests();
        const cpu: SnapshotCpuUse = { cpuSeconds: cpuMs() / 1000, seconds: (performance.now() - startedMs) / 1000, cpuPercent: data.cpuPercent };
        await post({ type: 'done', slotDigests, cpu });
        return;
      }
      const elapsedMs = performance.now() - startedMs;
      const wait = Math.max(paceDelayMs(readBytes, elapsedMs, data.maxBytesPerSecond), cpuBudgetDelayMs(cpuMs(), elapsedMs, data.cpuPercent));
      // Also lets a finished put's callback run between synchronous read slices.
      await new Promise((resolve) => (wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve)));
    }
  } finally {
    reader.close();
    destination.close();
  }
}

run().catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) })).catch(() => process.exit(1));

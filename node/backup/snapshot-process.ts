/**
 * Runs a shard backup's snapshot read in its own process (snapshot-worker.ts,
 * why a process: see there) and uploads each chunk it sends, in order, one
 * at a time. At most `chunksAhead` chunks wait in memory. The process is
 * killed when the backup ends either way; it exits by itself if the node
 * dies (its IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SlotDigest } from '../../common/replication.js';
import type { SnapshotWorkerData, SnapshotWorkerEvent, SnapshotWorkerStart } from './snapshot-worker.js';

export type SnapshotChunk = Extract<SnapshotWorkerEvent, { type: 'chunk' }>;

export interface SnapshotReadProgress {
  seq: number | null;
  keysTotal: number;
  keysDone: number;
  niceness?: number | null;
}

const WORKER_FILE = fileURLToPath(new URL('./snapshot-worker.js', import.meta.url));

function spawnWorker(): ChildProcess {
  return fork(WORKER_FILE, [], {
    // Its own session: its own CPU group where the kernel groups by session (backup-priority.ts).
    detached: true,
    // Chunks travel as binary, not JSON.
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The node's own flags (an inspector port, a profiler) are not the reader's.
    execArgv: [],
  });
}

/** The snapshot's slot digests once every chunk is uploaded; rejects with the first failure of either side. */
export function readSnapshotInProcess(data: SnapshotWorkerData, chunksAhead: number, progress: SnapshotReadProgress, upload: (c: SnapshotChunk) => Promise<void>): Promise<SlotDigest[]> {
  const child = spawnWorker();
  // A backup never keeps a stopping node alive (the controller retries it elsewhere).
  child.unref();
  child.channel?.unref();
  const send = (msg: SnapshotWorkerStart | number | 'stop'): void => {
    if (child.connected) child.send(msg, (err) => err && child.kill('SIGKILL'));
  };
  send({ type: 'start', data });
  return new Promise<SlotDigest[]>((resolve, reject) => {
    let settled = false;
    let uploads: Promise<void> = Promise.resolve();
    const finish = (err: Error | null, digests?: SlotDigest[]): void => {
      if (settled) return;
      settled = true;
      // SIGKILL also ends a read stuck in a synchronous SQLite call; its read-only connection needs no cleanup.
      child.kill('SIGKILL');
      if (err !== null) reject(err);
      else resolve(digests!);
    };
    child.on('message', (e: SnapshotWorkerEvent) => {
      switch (e.type) {
        case 'opened':
          progress.seq = e.seq;
          progress.keysTotal = e.totalKeys;
          progress.niceness = e.niceness;
          send(chunksAhead);
          break;
        case 'progress':
          progress.keysDone = e.keysDone;
          break;
        case 'chunk':
          uploads = uploads.then(() => upload(e)).then(() => {
            if (!settled) send(1);
          });
          uploads.catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
          break;
        case 'done':
          uploads.then(() => finish(null, e.slotDigests), () => {});
          break;
        case 'error':
          finish(new Error(`reading the snapshot: ${e.message}`));
          break;
      }
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code, signal) => finish(new Error(`the backup's snapshot process exited with ${signal ?? `code ${code}`}`)));
  });
}

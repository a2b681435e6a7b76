/**
 * Runs a shard backup's snapshot read and chunk uploads in their own
 * process (snapshot-worker.ts, why a process: see there) and reports each
 * chunk it stored, in order. The process is killed when the backup ends
 * either way; it exits by itself if the node dies (its IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChunkEntry } from '../../common/backup/manifest.js';
import type { SlotDigest } from '../../common/replication.js';
import type { SnapshotCpuUse, SnapshotWorkerData, SnapshotWorkerEvent, SnapshotWorkerStart } from './snapshot-worker.js';

export interface SnapshotReadProgress {
  seq: number | null;
  keysTotal: number;
  keysDone: number;
  niceness?: number | null;
}

/** The snapshot process failed or ended before it was done (its message, or how it exited). */
export class SnapshotProcessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotProcessError';
  }
}

const WORKER_FILE = fileURLToPath(new URL('./snapshot-worker.js', import.meta.url));

function spawnWorker(): ChildProcess {
  return fork(WORKER_FILE, [], {
    // Its own session: its own CPU group where the kernel groups by session (backup-priority.ts).
    detached: true,
    // Slot digests and chunk entries travel as structured clones.
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // The node's own flags (an inspector port, a profiler) are not the reader's.
    execArgv: [],
  });
}

export interface SnapshotReadResult {
  readonly slotDigests: SlotDigest[];
  readonly cpu: SnapshotCpuUse;
}

/** The snapshot's slot digests (and what it cost the process) once every chunk is stored (`stored` called for each, in order); rejects with the process's failure. */
export function readSnapshotInProcess(data: SnapshotWorkerData, progress: SnapshotReadProgress, stored: (c: ChunkEntry) => void): Promise<SnapshotReadResult> {
  const child = spawnWorker();
  // A backup never keeps a stopping node alive (the controller retries it elsewhere).
  child.unref();
  child.channel?.unref();
  // The start message carries the destination's credentials: over the IPC pipe, never argv or env.
  const start: SnapshotWorkerStart = { type: 'start', data };
  child.send(start, (err) => err && child.kill('SIGKILL'));
  return new Promise<SnapshotReadResult>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, result?: SnapshotReadResult): void => {
      if (settled) return;
      settled = true;
      // SIGKILL also ends a read stuck in a synchronous SQLite call; its read-only connection needs no cleanup.
      child.kill('SIGKILL');
      if (err !== null) reject(err);
      else resolve(result!);
    };
    child.on('message', (e: SnapshotWorkerEvent) => {
      if (settled) return;
      switch (e.type) {
        case 'opened':
          progress.seq = e.seq;
          progress.keysTotal = e.totalKeys;
          progress.niceness = e.niceness;
          break;
        case 'progress':
          progress.keysDone = e.keysDone;
          break;
        case 'stored':
          stored(e.chunk);
          break;
        case 'done':
          finish(null, { slotDigests: e.slotDigests, cpu: e.cpu });
          break;
        case 'error':
          finish(new SnapshotProcessError(`backup snapshot process: ${e.message}`));
          break;
      }
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code, signal) => finish(new SnapshotProcessError(`the backup's snapshot process exited with ${signal ?? `code ${code}`}`)));
  });
}

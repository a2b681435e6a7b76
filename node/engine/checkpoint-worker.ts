/**
 * Worker thread that checkpoints the WAL back into the database file on its
 * own SQLite connection, so the event loop never stalls for a checkpoint
 * (copying thousands of pages and fsyncing took tens of milliseconds on the
 * main thread). Protocol: the engine posts 'checkpoint' or 'close'; the
 * worker answers each checkpoint with its result or an error message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointWorkerData {
  file: string;
  synchronous: 'FULL' | 'NORMAL';
}

export type CheckpointReply =
  /** frames: in the WAL; checkpointed: of those, copied into the database file. */
  | { ok: true; frames: number; checkpointed: number }
  | { ok: false; error: string };

interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

const port = parentPort;
if (port === null) throw new Error('checkpoint-worker must run in a worker thread');
const data = workerData as CheckpointWorkerData;
const db = new Database(data.file, { fileMustExist: true, timeout: 10_000 });
// Checkpoints fsync the database file according to this connection's setting.
db.pragma(`synchronous = ${data.synchronous}`);
// This connection never writes data; it must never checkpoint on its own schedule either.
db.pragma('wal_autocheckpoint = 0');
// PASSIVE copies what it can without ever blocking the engine's writes.
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');

port.on('message', (msg: unknown) => {
  if (msg === 'close') {
    db.close();
    port.close();
    return;
  }
  let reply: CheckpointReply;
  try {
    const row = passive.get() as CheckpointRow;
    reply = { ok: true, frames: row.log, checkpointed: row.checkpointed };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});

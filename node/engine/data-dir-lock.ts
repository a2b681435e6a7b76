/**
 * One process per data directory (docs/architecture.md §2), and private
 * files in it (issue #14 item 7).
 *
 * Node has no flock(), so the lock is a file: `<dataDir>/irisdb.lock`, holding
 * the owner's pid and a random token, created atomically (a fully written
 * temporary file hard-linked to the name, which fails if it exists; O_EXCL
 * where the file system has no hard links). A second process finds it and
 * refuses to start before it opens the database. The lock is stale, and
 * replaced, when its pid no longer runs or is this very process (a container
 * restarted as pid 1 again finds its own pid in the lock it left behind).
 * close() removes it; a crash leaves it behind, stale.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '../../common/process-alive.js';

export const LOCK_FILE_NAME = 'irisdb.lock';
/** Directory and file modes: only the node's own user reads its data. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Stale locks replaced in a row before giving up (another process keeps racing for it). */
const MAX_ATTEMPTS = 5;

export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly pid: number, readonly lockFile: string) {
    super(`data directory ${dataDir} is in use by another irisdb-node (pid ${pid}, lock file ${lockFile}): ` +
      `each node needs its own --data-dir; stop that process first (remove the lock file only if pid ${pid} is not an irisdb-node)`);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it is still this holder's. */
  release(): void;
}

/** The pid a lock file's text names, or null if it names none. Pure. */
export function lockOwner(text: string): number | null {
  const m = /^(\d+)\n/.exec(text);
  if (m === null) return null;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Takes the data directory's lock (creating the directory, mode 0700) or
 * throws DataDirLockedError naming the live owner. Touches no other file.
 */
export function lockDataDir(dataDir: string, alive: (pid: number) => boolean = isAlive): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  tightenMode(dataDir, DIR_MODE);
  const file = path.join(dataDir, LOCK_FILE_NAME);
  const content = `${process.pid}\n${randomBytes(16).toString('hex')}\n`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(file, content)) {
      return {
        file,
        release() {
          try {
            if (fs.readFileSync(file, 'utf8') === content) fs.unlinkSync(file);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    }
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    const owner = lockOwner(text);
    if (owner !== null && owner !== process.pid && alive(owner)) throw new DataDirLockedError(dataDir, owner, file);
    // Stale: its process is gone (or it is our own pid from before a restart).
    try {
      fs.unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`could not take the lock ${file}: other processes keep replacing it`);
}

/** Creates `file` holding `content` only if it does not exist; false if it does. Never leaves it half written. */
function createExclusive(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode: FILE_MODE, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
    // No hard links here: O_EXCL, written at once (a reader may briefly see it empty: not a pid, so stale).
    try {
      fs.writeFileSync(file, content, { mode: FILE_MODE, flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Creates `file` (mode 0600) if missing and takes group/other access away
 * from it if it has any (files of older versions). SQLite creates the -wal
 * and -shm files with the database file's mode, so they follow.
 */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', FILE_MODE));
  tightenMode(file, FILE_MODE);
}

function tightenMode(p: string, mode: number): void {
  const st = fs.statSync(p);
  if ((st.mode & 0o077) === 0) return;
  // Only the owner may chmod; a directory someone else gave us (a mount point) is left as it is.
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return;
  fs.chmodSync(p, mode);
}

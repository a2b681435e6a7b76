/**
 * The aclfile on disk: read, written atomically (temp file + rename, mode
 * 0600 — it holds password digests), and watched so every node of a
 * cluster that mounts the same file (a Kubernetes Secret, the local
 * cluster's directory) applies an edit within one check interval.
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { Logger } from '../../common/logger.js';
import type { AclFileIo, AclStore } from './store.js';

export const diskAclFileIo: AclFileIo = {
  read: (path) => readFileSync(path, 'utf8'),
  write: (path, text) => {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  },
};

function fingerprint(path: string): string {
  try {
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Reloads the store when the file changes (checked every `intervalMs`).
 * A file that does not parse is logged and the users stay as they were.
 * `changed` gets the names of users removed or modified (to disconnect
 * their clients, as Redis's ACL LOAD does). Returns a stop function.
 */
export function watchAclFile(
  store: AclStore, intervalMs: number, logger: Logger, changed: (names: string[]) => void,
  reloaded: (result: { error: string } | { changed: string[] }) => void = () => {},
): () => void {
  let last = fingerprint(store.aclfile);
  const timer = setInterval(() => {
    const now = fingerprint(store.aclfile);
    if (now === last) return;
    last = now;
    try {
      const names = store.load();
      logger.info('aclfile reloaded', { aclfile: store.aclfile, users: store.all().length, changed: names });
      reloaded({ changed: names });
      if (names.length > 0) changed(names);
    } catch (err) {
      reloaded({ error: (err as Error).message });
      logger.error('aclfile not reloaded: it does not parse; the users stay as they were', { aclfile: store.aclfile, err: (err as Error).message });
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The node's keyring, read from --encryption-key-file at start (a bad file
 * stops startup) and re-read when the file changes (a bad new version is
 * logged and the keys in use are kept). The engine, the replication log and
 * the archiver read `current` on every use, so a new active key takes effect
 * for the next write.
 */
import fs from 'node:fs';
import type { Logger } from '../../common/logger.js';
import { Keyring } from './keyring.js';
import { parseKeyringFile } from './keyring-file.js';

/** What encrypting code holds: the keyring in force now (it may be replaced by a reload). */
export interface KeyringSource {
  readonly current: Keyring;
  /** Called after each reload (a source that never reloads need not have it). */
  onReload?(listener: (next: Keyring) => void): void;
}

export class KeyringStore implements KeyringSource {
  private keyring: Keyring;
  private watching = false;
  private readonly listeners: Array<(next: Keyring) => void> = [];

  constructor(readonly file: string, private readonly logger?: Logger) {
    this.keyring = readKeyringFile(file);
  }

  get current(): Keyring {
    return this.keyring;
  }

  /** Re-reads the file; throws (keeping the old keyring) when it does not parse. */
  reload(): Keyring {
    const next = readKeyringFile(this.file);
    const before = this.keyring.active.id;
    this.keyring = next;
    this.logger?.info('encryption keyring reloaded', { file: this.file, keyIds: next.ids, activeKeyId: next.active.id, previousActiveKeyId: before });
    for (const l of this.listeners) l(next);
    return next;
  }

  /** Told every keyring a reload installs. */
  onReload(listener: (next: Keyring) => void): void {
    this.listeners.push(listener);
  }

  /** Polls the file every `intervalMs` (0: never) and reloads it when its mtime or size changes. */
  watch(intervalMs: number): void {
    if (intervalMs <= 0 || this.watching) return;
    this.watching = true;
    fs.watchFile(this.file, { interval: intervalMs, persistent: false }, (cur, prev) => {
      if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size && cur.ino === prev.ino) return;
      try {
        this.reload();
      } catch (err) {
        this.logger?.error('encryption keyring file changed but cannot be used; keeping the keys loaded before', { file: this.file, err: (err as Error).message });
      }
    });
  }

  close(): void {
    if (this.watching) fs.unwatchFile(this.file);
    this.watching = false;
  }
}

export function readKeyringFile(file: string): Keyring {
  return new Keyring(parseKeyringFile(fs.readFileSync(file, 'utf8'), file));
}

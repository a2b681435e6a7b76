/**
 * fsync of the WAL file off the event loop. With fsync=always the database
 * runs with synchronous=NORMAL (COMMIT writes WAL frames but does not sync)
 * and the group commit calls fdatasync on the WAL through libuv's thread
 * pool; replies are released only once the sync covering their turn is done.
 * The event loop keeps parsing and executing the next turn while the disk
 * syncs — a pipelined group commit, as databases with a WAL do it.
 * fdatasync on any descriptor of the file flushes the file's dirty pages,
 * whichever descriptor (SQLite's) wrote them.
 */
import fs from 'node:fs';
import path from 'node:path';

/** What the group commit needs of a WAL syncer (tests inject failures through it). */
export interface WalSyncer {
  sync(cb: (err: Error | null) => void): void;
  syncNow(): void;
  close(): void;
}

export class WalSync implements WalSyncer {
  private fd: number | null = null;

  constructor(private readonly walPath: string) {}

  private descriptor(): number {
    if (this.fd === null) {
      // SQLite creates the -wal file lazily; by the first commit it exists.
      this.fd = fs.openSync(this.walPath, 'r');
      // Make the file's directory entry durable too, once.
      const dir = fs.openSync(path.dirname(this.walPath), 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
    }
    return this.fd;
  }

  sync(cb: (err: Error | null) => void): void {
    let fd: number;
    try {
      fd = this.descriptor();
    } catch (e) {
      queueMicrotask(() => cb(e as Error));
      return;
    }
    fs.fdatasync(fd, (err) => cb(err));
  }

  syncNow(): void {
    fs.fdatasyncSync(this.descriptor());
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

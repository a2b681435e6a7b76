/**
 * A backup destination on a filesystem path (a local directory, a PVC).
 * Writes are atomic: a temporary file in the same directory, fsynced,
 * renamed into place, then the directory fsynced, so an object is either
 * absent or complete even across a crash or power loss.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { BackupObjectMissing, checkObjectKey, type BackupDestination, type ObjectInfo } from './destination.js';

const TMP_SUFFIX = '.partial';

export class FileDestination implements BackupDestination {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `file://${root}`;
  }

  private file(key: string): string {
    return path.join(this.root, ...checkObjectKey(key).split('/'));
  }

  async put(key: string, body: Buffer | Readable): Promise<void> {
    const file = this.file(key);
    const dir = path.dirname(file);
    await fs.promises.mkdir(dir, { recursive: true });
    const tmp = `${file}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;
    try {
      const fh = await fs.promises.open(tmp, 'w', 0o600);
      try {
        if (Buffer.isBuffer(body)) await fh.writeFile(body);
        else await pipeline(body, fh.createWriteStream({ autoClose: false }));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
    await syncDir(dir);
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.promises.readFile(this.file(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupObjectMissing(this.description, key);
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const st = await fs.promises.stat(this.file(key));
      return st.isFile() ? { key, size: st.size } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          // Only descend where the prefix can still match.
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(path.join(dir, e.name), key);
        } else if (e.isFile() && key.startsWith(prefix) && !e.name.endsWith(TMP_SUFFIX)) {
          out.push({ key, size: (await fs.promises.stat(path.join(dir, e.name))).size });
        }
      }
    };
    await walk(this.root, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const file = this.file(key);
    await fs.promises.rm(file, { force: true });
    // Empty directories left behind go too, up to the root.
    let dir = path.dirname(file);
    while (dir.startsWith(this.root) && dir !== this.root) {
      try {
        await fs.promises.rmdir(dir);
      } catch {
        break;
      }
      dir = path.dirname(dir);
    }
  }

  close(): void {}
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fs.promises.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

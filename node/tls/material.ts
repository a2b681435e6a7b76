/**
 * The node's certificate, key and CA, read from disk and read again when
 * any of the files changes (a renewed certificate, a Kubernetes Secret
 * update), so new connections get the new certificate without a restart
 * and existing connections keep theirs.
 */
import fs from 'node:fs';
import tls from 'node:tls';
import type { Logger } from '../../common/logger.js';

export interface TlsFilePaths {
  certFile: string;
  keyFile: string;
  /** Empty: no CA (clients are not asked for certificates). */
  caFile: string;
}

export class TlsMaterialError extends Error {
  constructor(message: string, readonly file: string) {
    super(message);
    this.name = 'TlsMaterialError';
  }
}

/** The files' contents as node:tls options. */
export interface TlsPem {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** Reading the files; injected so tests can count reads. */
export interface TlsFileSystem {
  stamp(file: string): string;
  read(file: string): Buffer;
}

export const diskFiles: TlsFileSystem = {
  // ino: a Secret volume swaps the file behind a symlink; mtime/size: a file rewritten in place.
  stamp(file) {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  },
  read: (file) => fs.readFileSync(file),
};

export class TlsMaterial {
  private stamps = '';
  private current: TlsPem;
  private loads = 1;

  constructor(private readonly paths: TlsFilePaths, private readonly logger: Logger, private readonly files: TlsFileSystem = diskFiles) {
    this.stamps = this.readStamps();
    this.current = this.load();
  }

  get pem(): TlsPem {
    return this.current;
  }

  /** Counts loads: each listener sharing this material compares it with the one it applied. */
  get version(): number {
    return this.loads;
  }

  /**
   * Reads the files again if any changed since the last load; true when the
   * material changed. A half-written pair (a key that does not match the
   * certificate) is logged and the previous material kept, so a renewal in
   * progress never leaves the node without a working certificate.
   */
  refresh(): boolean {
    let stamps: string;
    try {
      stamps = this.readStamps();
    } catch (err) {
      this.logger.warn('TLS files unreadable; keeping the loaded certificate', { err: (err as Error).message });
      return false;
    }
    if (stamps === this.stamps) return false;
    try {
      const next = this.load();
      this.current = next;
      this.stamps = stamps;
      this.loads++;
      this.logger.info('TLS certificate reloaded from disk', { certFile: this.paths.certFile });
      return true;
    } catch (err) {
      this.logger.warn('TLS files changed but do not load; keeping the previous certificate', { err: (err as Error).message });
      return false;
    }
  }

  private readStamps(): string {
    return this.list().map((f) => this.files.stamp(f)).join('|');
  }

  private list(): string[] {
    return [this.paths.certFile, this.paths.keyFile, ...(this.paths.caFile === '' ? [] : [this.paths.caFile])];
  }

  private load(): TlsPem {
    const read = (file: string): Buffer => {
      try {
        return this.files.read(file);
      } catch (err) {
        throw new TlsMaterialError(`cannot read ${file}: ${(err as Error).message}`, file);
      }
    };
    const pem: TlsPem = { cert: read(this.paths.certFile), key: read(this.paths.keyFile) };
    if (this.paths.caFile !== '') pem.ca = read(this.paths.caFile);
    try {
      // Fails on a malformed PEM or a key that does not match the certificate.
      tls.createSecureContext(pem);
    } catch (err) {
      throw new TlsMaterialError(`${this.paths.certFile} / ${this.paths.keyFile}: ${(err as Error).message}`, this.paths.certFile);
    }
    return pem;
  }
}

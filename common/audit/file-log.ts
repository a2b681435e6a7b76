/**
 * The audit log file: hash-chained JSON lines (chain.ts) appended through a
 * dedicated winston logger whose transport writes each line synchronously,
 * so records land in the order they were sealed and a failure is counted
 * at once. The file is created 0600 (and made 0600 if it was not); a
 * restart continues the chain from the file's last record. When the file
 * is renamed (log rotation), the next write within a second opens a new
 * one at the path, and the chain continues into it.
 */
import fs from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import type TransportStream from 'winston-transport';
import { GENESIS, headOf, sealRecord, type ChainHead } from './chain.js';
import type { AuditEvent, AuditSink } from './sink.js';

export interface AuditLogCounters {
  written(): void;
  failed(): void;
}

export interface AuditFileLogOptions {
  readonly path: string;
  /** The writer's name in every record (the node's name, or "controller"). */
  readonly source: string;
  readonly counters?: AuditLogCounters;
  /** A record could not be written (log it; the record is lost and verify will name the gap). */
  readonly onWriteError?: (err: Error) => void;
  readonly now?: () => Date;
}

export class AuditLogError extends Error {
  constructor(message: string, readonly file: string) {
    super(message);
    this.name = 'AuditLogError';
  }
}

/** How much of the file's end is read to find the last record at start. */
const TAIL_BYTES = 256 * 1024;
/** How often (at most) a write checks whether the file was rotated away. */
const ROTATION_CHECK_MS = 1000;

/** The head to continue from, and whether the file needs a newline before the next record (a torn last line). */
function readTail(file: string): { head: ChainHead; needsNewline: boolean } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { head: GENESIS, needsNewline: false };
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return { head: GENESIS, needsNewline: false };
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    // lines[0] may be cut by the tail window; any later one is whole.
    for (let i = lines.length - 1; i >= (len < size ? 1 : 0); i--) {
      const head = lines[i] === '' ? null : headOf(lines[i]!);
      if (head !== null) return { head, needsNewline: buf[len - 1] !== 0x0a };
    }
    throw new AuditLogError(`${file} does not end with an audit record: move it away to start a new chain (or repair it)`, file);
  } finally {
    fs.closeSync(fd);
  }
}

function openForAppend(file: string): number {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, 'a', 0o600);
  fs.fchmodSync(fd, 0o600);
  return fd;
}

// winston's typings name the base class `transport`; at run time it is `Transport`.
const TransportBase = (winston as unknown as { Transport: typeof TransportStream }).Transport;

/** Writes each line with one synchronous append; reopens the path after a rotation. */
class ChainFileTransport extends TransportBase {
  private fdClosed = false;
  private fd: number;
  private ino: number;
  private lastCheck = 0;

  constructor(private readonly file: string, private readonly opts: AuditFileLogOptions) {
    super();
    this.fd = openForAppend(file);
    this.ino = fs.fstatSync(this.fd).ino;
  }

  override log(info: { message: unknown }, next: () => void): void {
    try {
      this.reopenIfRotated();
      fs.writeSync(this.fd, `${String(info.message)}\n`);
      this.opts.counters?.written();
    } catch (err) {
      this.opts.counters?.failed();
      this.opts.onWriteError?.(err as Error);
    }
    next();
  }

  private reopenIfRotated(): void {
    const now = Date.now();
    if (now - this.lastCheck < ROTATION_CHECK_MS) return;
    this.lastCheck = now;
    let ino: number | null;
    try {
      ino = fs.statSync(this.file).ino;
    } catch {
      ino = null;
    }
    if (ino === this.ino) return;
    fs.closeSync(this.fd);
    this.fd = openForAppend(this.file);
    this.ino = fs.fstatSync(this.fd).ino;
  }

  override close(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    fs.closeSync(this.fd);
  }
}

export class AuditFileLog implements AuditSink {
  private head: ChainHead;
  private readonly logger: winston.Logger;
  private readonly now: () => Date;

  constructor(private readonly opts: AuditFileLogOptions) {
    const tail = readTail(opts.path);
    this.head = tail.head;
    const transport = new ChainFileTransport(opts.path, opts);
    this.logger = winston.createLogger({
      levels: { audit: 0 },
      level: 'audit',
      format: winston.format.printf((info) => String(info.message)),
      transports: [transport],
    });
    // A line torn by a crash stays as it is (verify names it); the chain goes on from the last whole record.
    if (tail.needsNewline) fs.appendFileSync(opts.path, '\n');
    this.now = opts.now ?? (() => new Date());
  }

  /** The last record's seq and hash. */
  get last(): ChainHead {
    return this.head;
  }

  record(e: AuditEvent): void {
    const sealed = sealRecord(this.head, {
      time: this.now().toISOString(), source: this.opts.source, event: e.event,
      user: e.user ?? null, remote: e.remote ?? null, outcome: e.outcome, detail: e.detail ?? {},
    });
    this.head = sealed.head;
    this.logger.log({ level: 'audit', message: sealed.line });
  }

  close(): void {
    this.logger.close();
  }
}

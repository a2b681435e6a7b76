/**
 * The write journal's files: DATA_DIR/journal/<generation>-<segment>.log,
 * appended to by the event loop and fdatasynced off it (group commit). A
 * segment is closed (synced once, on this thread) when it passes the size
 * bound, so a new file and its directory fsync are rare. The generation
 * changes whenever a turn the journal cannot express commits SQLite
 * directly (journal-transaction.ts): segments of older generations are then
 * wholly in the database and are deleted; recovery reads only the
 * generation the database names (meta journal_gen).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { WalSyncer } from './wal-sync.js';

export const JOURNAL_DIR = 'journal';
const NAME = /^(\d{8})-(\d{8})\.log$/;

export interface SegmentName {
  readonly gen: number;
  readonly index: number;
  readonly file: string;
}

/** The journal's segment files, oldest first. */
export function listSegments(dir: string): SegmentName[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: SegmentName[] = [];
  for (const n of names) {
    const m = NAME.exec(n);
    if (m !== null) out.push({ gen: Number(m[1]), index: Number(m[2]), file: path.join(dir, n) });
  }
  return out.sort((a, b) => a.gen - b.gen || a.index - b.index);
}

export function segmentFile(dir: string, gen: number, index: number): string {
  return path.join(dir, `${String(gen).padStart(8, '0')}-${String(index).padStart(8, '0')}.log`);
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

interface ClosedSegment {
  readonly file: string;
  /** Highest seq in it (0: none). */
  readonly lastSeq: number;
}

/** Appends records to the current segment; also the group commit's syncer (WalSyncer) for the journal. */
export class JournalWriter implements WalSyncer {
  private fd = -1;
  private file = '';
  private index = 0;
  /** Appended since the last sync started (fsync batch syncs only then). */
  dirty = false;
  private bytes = 0;
  private lastSeq = 0;
  private readonly closed: ClosedSegment[] = [];
  /** Descriptors of segments left behind while a sync on them may still run: closed once none does. */
  private readonly retired: number[] = [];
  private syncsInFlight = 0;
  /** Bytes appended since open (metrics). */
  appendedBytes = 0;
  syncs = 0;
  /** The last append or fdatasync failed (INFO journal_last_write_status); a successful sync clears it. */
  lastWriteFailed = false;

  /** Opens no file: startGeneration does (after recovery, with the generation the database names next). */
  constructor(private readonly dir: string, private gen: number, private readonly segmentBytes: number) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  get generation(): number {
    return this.gen;
  }

  /** Bytes in the journal's files now (the current and the closed segments not yet trimmed). */
  get diskBytes(): number {
    let n = this.bytes;
    for (const c of this.closed) n += fs.statSync(c.file, { throwIfNoEntry: false })?.size ?? 0;
    return n;
  }

  append(record: Buffer, lastSeq: number): void {
    if (this.fd < 0) throw new Error('the write journal has no open segment');
    if (this.bytes > 0 && this.bytes + record.length > this.segmentBytes) this.rotate();
    let off = 0;
    try {
      while (off < record.length) off += fs.writeSync(this.fd, record, off, record.length - off);
    } catch (e) {
      this.lastWriteFailed = true;
      // A short write must not leave half a record before the next one: cut it off (or stop using the file).
      try {
        fs.ftruncateSync(this.fd, this.bytes);
      } catch {
        this.retire(this.fd);
        this.fd = -1;
      }
      throw e;
    }
    this.dirty = true;
    this.bytes += record.length;
    this.appendedBytes += record.length;
    this.lastSeq = lastSeq;
  }

  sync(cb: (err: Error | null) => void): void {
    this.syncs++;
    this.dirty = false;
    this.syncsInFlight++;
    fs.fdatasync(this.fd, (err) => {
      this.syncsInFlight--;
      if (this.syncsInFlight === 0) this.closeRetired();
      this.lastWriteFailed = err !== null;
      cb(err);
    });
  }

  syncNow(): void {
    this.syncs++;
    this.dirty = false;
    if (this.fd < 0) return;
    try {
      fs.fdatasyncSync(this.fd);
      this.lastWriteFailed = false;
    } catch (e) {
      this.lastWriteFailed = true;
      throw e;
    }
  }

  /** Deletes closed segments whose records are all at or below `durableSeq` (durably in SQLite). */
  trim(durableSeq: number): number {
    let n = 0;
    while (this.closed.length > 0 && this.closed[0]!.lastSeq <= durableSeq) {
      fs.rmSync(this.closed.shift()!.file, { force: true });
      n++;
    }
    return n;
  }

  /** An open segment without records and no closed ones: the generation holds nothing yet. */
  get holdsNothing(): boolean {
    return this.fd >= 0 && this.bytes === 0 && this.closed.length === 0;
  }

  get hasClosedSegments(): boolean {
    return this.closed.length > 0;
  }

  /**
   * Starts generation `gen` (already durably named by the database) and
   * deletes every segment of older ones: the database holds all they held.
   */
  startGeneration(gen: number): void {
    if (this.fd >= 0) this.retire(this.fd);
    this.gen = gen;
    this.index = 0;
    this.closed.length = 0;
    this.bytes = 0;
    this.lastSeq = 0;
    this.file = segmentFile(this.dir, gen, 0);
    this.fd = this.create(this.file);
    for (const s of listSegments(this.dir)) if (s.gen < gen) fs.rmSync(s.file, { force: true });
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.closeRetired();
  }

  private retire(fd: number): void {
    if (this.syncsInFlight === 0) fs.closeSync(fd);
    else this.retired.push(fd);
  }

  private closeRetired(): void {
    for (const fd of this.retired.splice(0)) fs.closeSync(fd);
  }

  private rotate(): void {
    // Synced before the next segment gets records: only the last segment can ever have a torn tail.
    fs.fdatasyncSync(this.fd);
    this.retire(this.fd);
    this.closed.push({ file: this.file, lastSeq: this.lastSeq });
    this.index++;
    this.file = segmentFile(this.dir, this.gen, this.index);
    this.fd = this.create(this.file);
    this.bytes = 0;
  }

  private create(file: string): number {
    const fd = fs.openSync(file, 'a', 0o600);
    this.bytes = fs.fstatSync(fd).size;
    fsyncDir(this.dir);
    return fd;
  }
}

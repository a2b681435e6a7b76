/**
 * Stores a shard backup's chunks, in the snapshot process (snapshot-worker.ts):
 * each chunk sealed with the active key (encryption at rest), put under its
 * numbered key, and described for the shard manifest (checksum, sizes). One
 * put in flight while the next chunk is built: reading and storing overlap,
 * and at most two chunks are in memory.
 */
import { createHash } from 'node:crypto';
import type { BackupDestination } from '../../common/backup/destination.js';
import { backupKeys, type ChunkEntry } from '../../common/backup/manifest.js';
import type { Keyring } from '../crypto/keyring.js';
import { sealObjectWith } from '../crypto/object-envelope.js';
import type { BuiltChunk } from './snapshot-chunk-builder.js';

/** A chunk could not be stored (the destination's error, with the object's key). */
export class ChunkStoreError extends Error {
  constructor(readonly key: string, cause: unknown) {
    super(`storing ${key}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ChunkStoreError';
  }
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export class ChunkStore {
  private stored = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly destination: BackupDestination,
    private readonly keyring: Keyring | null,
    private readonly backupId: string,
    private readonly shard: string,
    /** Called in chunk order once each is stored. */
    private readonly onStored: (entry: ChunkEntry) => Promise<void>,
  ) {}

  /** Waits for the previous chunk's put (its failure rejects here), then starts this one's. */
  async add(chunk: BuiltChunk): Promise<void> {
    await this.inFlight;
    const index = ++this.stored;
    const p = this.put(index, chunk);
    // Observed by the next add() or drain(); never an unhandled rejection meanwhile.
    p.catch(() => {});
    this.inFlight = p;
  }

  /** Every chunk stored (or the first failure). */
  async drain(): Promise<void> {
    await this.inFlight;
  }

  private async put(index: number, chunk: BuiltChunk): Promise<void> {
    const key = backupKeys.chunk(this.backupId, this.shard, index);
    const body = sealObjectWith(this.keyring, 'backup', key, chunk.body);
    try {
      await this.destination.put(key, body);
    } catch (err) {
      throw new ChunkStoreError(key, err);
    }
    await this.onStored({ key, sha256: sha256(body), bytes: body.length, rawBytes: chunk.rawBytes, keys: chunk.keys });
  }
}

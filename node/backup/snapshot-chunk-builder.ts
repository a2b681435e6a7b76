/**
 * Turns a shard snapshot's rows into backup chunk objects (docs/backup.md):
 * the rows of the wanted slots, expired ones left out, digested per slot,
 * encoded and compressed into a framed chunk once about `chunkBytes` have
 * gathered. Synchronous CPU work, run in the backup's worker thread
 * (snapshot-worker.ts) so it never holds the node's event loop.
 */
import { keySlot, SLOT_COUNT } from '../../common/slot.js';
import { rangesToSlots, type SlotRange } from '../../common/cluster-map.js';
import type { ChunkCompression } from '../../common/backup/manifest.js';
import type { SlotDigest } from '../../common/replication.js';
import { decodeValue } from '../engine/codec.js';
import type { Keyring } from '../crypto/keyring.js';
import type { StoredRow } from '../engine/types.js';
import { DigestAccumulator } from '../replication/digest.js';
import { encodeRows } from '../replication/row-codec.js';
import { rowBytes } from '../replication/snapshot.js';
import { encodeChunkHeader } from './chunk-codec.js';
import { compressPayloadSync } from './chunk-compress.js';

export interface BuiltChunk {
  /** The whole chunk object: header and compressed rows. */
  readonly body: Buffer;
  readonly rawBytes: number;
  readonly keys: number;
}

export class SnapshotChunkBuilder {
  private readonly wanted = new Uint8Array(SLOT_COUNT);
  private readonly digests = new DigestAccumulator();
  private rows: StoredRow[] = [];
  private pendingBytes = 0;

  /** `now`: one clock reading for the whole snapshot, so a key is in or out consistently. */
  /** `keyring`: decrypts encrypted values for the digests (encryption at rest); the rows go into chunks as stored. */
  constructor(slots: readonly SlotRange[], private readonly now: number, private readonly compression: ChunkCompression, private readonly chunkBytes: number, private readonly keyring: Keyring | null = null) {
    for (const s of rangesToSlots(slots)) this.wanted[s] = 1;
  }

  /** Adds a page of snapshot rows; a chunk when enough have gathered. */
  add(page: readonly StoredRow[]): BuiltChunk | null {
    for (const r of page) {
      const slot = keySlot(r.key);
      if (this.wanted[slot] !== 1 || (r.expiresAt !== null && r.expiresAt <= this.now)) continue;
      this.digests.add(slot, r.key, decodeValue(r.value, r.flags, r.key, this.keyring), r.expiresAt);
      this.rows.push(r);
      this.pendingBytes += rowBytes(r.key, r.value);
    }
    return this.pendingBytes >= this.chunkBytes ? this.flush() : null;
  }

  /** The rows still gathered as a last chunk (null when none). */
  flush(): BuiltChunk | null {
    if (this.rows.length === 0) return null;
    const rows = this.rows;
    this.rows = [];
    this.pendingBytes = 0;
    const raw = encodeRows(rows);
    const payload = compressPayloadSync(raw, this.compression);
    const body = Buffer.concat([encodeChunkHeader({ compression: this.compression, rows: rows.length, rawBytes: raw.length }), payload]);
    return { body, rawBytes: raw.length, keys: rows.length };
  }

  slotDigests(): SlotDigest[] {
    return this.digests.result();
  }
}

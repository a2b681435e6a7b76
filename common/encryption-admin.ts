/**
 * The encryption part of a node's admin API (docs/security.md "Encryption at
 * rest"), shared by the node (node/crypto/admin-routes.ts) and irisctl:
 *   GET  /admin/encryption            -> EncryptionStatus
 *   POST /admin/encryption/reencrypt  -> 202 EncryptionStatus (starts or joins the job)
 */
export const ENCRYPTION_STATUS_PATH = '/admin/encryption';
export const REENCRYPT_PATH = '/admin/encryption/reencrypt';

export type ReencryptState = 'idle' | 'running' | 'done' | 'failed';

export interface ReencryptProgress {
  readonly state: ReencryptState;
  /** The key rows are re-sealed with (the active key when the current pass started: a key change mid-job starts another pass). */
  readonly targetKeyId: string | null;
  /** Rows looked at so far / rows the node held, in the current pass. */
  readonly doneKeys: number;
  readonly totalKeys: number;
  /** Rows re-sealed (they were under another key or in clear). */
  readonly rewrittenKeys: number;
  /** Replication log batches re-sealed. */
  readonly rewrittenLogBatches: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly error: string | null;
  /**
   * The job's last step (docs/security.md "Turning encryption on"): whether
   * the database was VACUUMed (no free space of before remains) and the WAL
   * truncated. Absent before the job gets there (and from older nodes).
   */
  readonly plaintextScrub?: PlaintextScrub;
  /** The scrub step under way (absent: none, or an older node): waiting for or running the VACUUM, the incremental reclaim, or the WAL's TRUNCATE checkpoint. */
  readonly scrubPhase?: ScrubPhase;
}

export type ScrubPhase = 'vacuum' | 'reclaim' | 'checkpoint';

export interface PlaintextScrub {
  /** True: no old plaintext remains in the node's files. */
  readonly clean: boolean;
  readonly vacuumed: boolean;
  readonly walTruncated: boolean;
  /** How long the step paused the node (ms): the VACUUM (or the longest reclaim step) plus the WAL's TRUNCATE checkpoint. */
  readonly pauseMs: number;
  readonly dbBytes: number;
}

export interface EncryptionStatus {
  readonly enabled: boolean;
  readonly activeKeyId: string | null;
  readonly keyIds: readonly string[];
  /**
   * Stored values per key id ("" = in clear) as of the last full scan (a
   * re-encrypt job); null before the first one. A key id with a count here
   * must stay in the keyring.
   */
  readonly valuesByKeyId: Readonly<Record<string, number>> | null;
  readonly reencrypt: ReencryptProgress;
}

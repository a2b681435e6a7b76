/**
 * The replication part of the admin API (`/admin/replication...`), shared by
 * the node (which serves it), the tests and the control plane (which call it).
 * Types only: no I/O here.
 */

import type { Writability } from './writability.js';

export type ReplicationRole = 'primary' | 'replica';

/** Where a node's cluster bus listens. A node is known by its name; addresses may change. */
export interface PeerAddress {
  readonly name: string;
  readonly host: string;
  readonly busPort: number;
}

/** One stretch of the write log written by one primary in one epoch (a process lifetime or a promotion). */
export interface Term {
  readonly epoch: number;
  /** Random id, new every time a node starts writing as primary. */
  readonly id: string;
  /** First sequence number written in this term. */
  readonly firstSeq: number;
}

/** PUT /admin/replication/role */
export type RoleRequest =
  | {
      readonly role: 'primary';
      readonly epoch: number;
      /** Names of the replicas this primary waits for (minSyncReplicas counts acknowledgements from these only). */
      readonly replicas?: readonly string[];
    }
  | {
      readonly role: 'replica';
      readonly epoch: number;
      readonly primary: PeerAddress;
    };

export type ReplicaLinkState = 'handshake' | 'full_sync' | 'catchup' | 'online';

/** A replica as its primary sees it. */
export interface ReplicaStatus {
  readonly name: string;
  /** Address clients use for this replica (INFO slaveN ip/port). */
  readonly host: string;
  readonly port: number;
  readonly busPort: number;
  readonly connected: boolean;
  readonly state: ReplicaLinkState;
  /** Highest sequence the replica has durably applied. */
  readonly ackedSeq: number;
  /** Operations the replica is behind. */
  readonly lagOps: number;
  /** How long the oldest write it has not acknowledged has been waiting (0 when caught up). */
  readonly lagMs: number;
  /** A full resync in progress: rows sent so far of about `totalKeys`. */
  readonly fullSync: SyncProgress | null;
}

export interface SyncProgress {
  readonly keys: number;
  readonly bytes: number;
  readonly totalKeys: number;
}

export type PrimaryLinkState = 'connecting' | 'handshake' | 'full_sync' | 'streaming' | 'down';

/** A replica's view of its primary. */
export interface PrimaryLinkStatus {
  readonly name: string;
  readonly host: string;
  readonly busPort: number;
  /** The primary's client address, once the handshake told us (MOVED target). */
  readonly respHost: string | null;
  readonly respPort: number | null;
  readonly state: PrimaryLinkState;
  /** Why the link is down or refused, if it is. */
  readonly lastError: string | null;
  /** Full resyncs and partial resyncs this node took since it started. */
  readonly fullSyncs: number;
  readonly partialSyncs: number;
  readonly loading: SyncProgress | null;
}

/** GET /admin/replication */
export interface ReplicationStatus {
  readonly name: string;
  readonly role: ReplicationRole;
  readonly epoch: number;
  /** Last committed sequence (the replication offset). */
  readonly lastSeq: number;
  readonly history: readonly Term[];
  readonly minSyncReplicas: number;
  /** min(minSyncReplicas, replicas declared): what writes actually wait for. */
  readonly effectiveMinSyncReplicas: number;
  readonly ackTimeoutMs: number;
  /** Declared replica names (primary). */
  readonly declaredReplicas: readonly string[];
  readonly replicas: readonly ReplicaStatus[];
  readonly primary: PrimaryLinkStatus | null;
  /** Sequences still in the log, for partial resyncs: [first, last]; first > last when empty. */
  readonly backlog: { readonly firstSeq: number; readonly lastSeq: number };
  /** Writes waiting for replica acknowledgements. */
  readonly pendingAcks: number;
  /**
   * The data is incomplete: a full resync is under way or was interrupted
   * (also across a re-pointing or a restart, until a snapshot completes).
   * Such a node cannot be promoted.
   */
  readonly loading: boolean;
  /**
   * Primary: its lastSeq when its declared replicas last changed (or when it
   * started). Writes after it were acknowledged under the current set; a
   * controller that wants every earlier write on a replica waits for this
   * sequence, whichever request changed the set.
   */
  readonly declaredSeq: number;
  /**
   * Present while this primary has fenced itself: an authenticated peer
   * reported a newer epoch, so it acknowledges nothing (NOREPLICAS) until the
   * control plane sets its role. Says which peer and epoch.
   */
  readonly fenced?: string;
  /** Whether this node accepts writes, why not and since when (absent from nodes before issue #13's reasons). */
  readonly writable?: Writability;
}

export interface SlotDigest {
  readonly slot: number;
  readonly count: number;
  /** 16 hex characters; order-independent over the slot's keys, values and expiries. */
  readonly hash: string;
}

/** GET /admin/replication/digests: this node's digests at `seq` (only non-empty slots). */
export interface DigestReport {
  readonly name: string;
  readonly seq: number;
  readonly slots: readonly SlotDigest[];
}

/** GET /admin/replication/digest-diff (primary only): each replica compared at the same sequence. */
export interface DigestDiff {
  readonly primary: string;
  readonly seq: number;
  readonly replicas: ReadonlyArray<{
    readonly name: string;
    /** Slots whose digest differs from the primary's, ascending. */
    readonly differing: readonly number[];
    /** Why the replica could not be compared (not connected, not streaming, timed out). */
    readonly error: string | null;
  }>;
}

/** POST /admin/replication/repair {slots?: number[]} (primary only). */
export interface RepairResult {
  readonly replicas: ReadonlyArray<{
    readonly name: string;
    /** Slots re-copied from the primary. */
    readonly repaired: readonly number[];
    readonly error: string | null;
  }>;
}

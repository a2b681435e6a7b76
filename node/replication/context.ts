/**
 * What the two ends of a replication link need from the node. The manager
 * builds both; the sessions (primary side, replica-sessions.ts) and the
 * link (replica side, primary-follower.ts) see only these small surfaces.
 */
import type { PeerAddress, Term } from '../../common/replication.js';
import type { SlotDigestTable } from './digest.js';
import type { Logger } from '../../common/logger.js';
import type { SqliteKeyspace } from '../engine/keyspace.js';
import type { ReplicationLog, StoredBatch } from './log.js';
import type { SnapshotReader } from './snapshot.js';
import type { AckGate } from './ack-gate.js';
import type { ReplicationMetrics } from './metrics.js';
import type { ReplicationTracing } from '../tracing/replication-tracing.js';
import type { BusTlsFiles } from '../tls/bus-transport.js';

export interface LinkCommon {
  readonly name: string;
  readonly token: string;
  /** tlsCluster: bus connections use mutual TLS with these files. */
  readonly busTls?: BusTlsFiles | undefined;
  readonly logger: Logger;
  readonly metrics: ReplicationMetrics;
  epoch(): number;
  history(): readonly Term[];
  /**
   * Starts digesting every slot at the current committed sequence (no write
   * turn may be open): the snapshot is taken before this returns, the rows
   * are hashed in time slices (slot-digests.ts).
   */
  startDigests(): { seq: number; result: Promise<SlotDigestTable> };
  /** Trace context over the stream (null: tracing off). */
  readonly tracing: ReplicationTracing | null;
}

/** The primary side of its replica sessions. */
export interface PrimarySide extends LinkCommon {
  readonly log: ReplicationLog;
  readonly gate: AckGate;
  /** Highest committed sequence. */
  committedSeq(): number;
  openSnapshot(): SnapshotReader;
  /** Client address of this node (Welcome). */
  respAddress(): { host: string; port: number };
}

/** The replica side of its link to the primary. */
export interface ReplicaSide extends LinkCommon {
  readonly keyspace: SqliteKeyspace;
  readonly log: ReplicationLog;
  /** The address this node's peers and clients use. */
  announce(): { respHost: string; respPort: number; busHost: string; busPort: number };
  /** The primary's handshake named a newer epoch (or history): keep it, durably, within the current turn. */
  adopt(epoch: number, history: readonly Term[] | null): void;
  /** Marks the data as incomplete (full resync in progress) or complete, within the current turn. */
  setLoading(loading: boolean): void;
  /** Longest time one event-loop turn applies streamed entries (replicaApplySliceMs). */
  readonly applySliceMs: number;
  /** Most snapshot rows one event-loop turn loads (and commits) during a full resync (replicaLoadSliceRows). */
  readonly loadSliceRows: number;
  /** A full resync's load waits for this before its next slice (the WAL past walWaitBytes); null: go on. */
  walBacklog(): Promise<void> | null;
}

export type { PeerAddress, StoredBatch };

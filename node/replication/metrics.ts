/**
 * Replication metrics. redis_exporter names where one exists
 * (redis_connected_slaves, redis_master_repl_offset,
 * redis_connected_slave_lag_seconds); the rest are irisdb_replication_*.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ReplicaLagSample {
  readonly name: string;
  readonly lagOps: number;
  readonly lagMs: number;
  readonly state: string;
}

export interface ReplicationGaugeSource {
  role(): 'primary' | 'replica';
  epoch(): number;
  lastSeq(): number;
  connectedReplicas(): number;
  replicaLag(): readonly ReplicaLagSample[];
  backlog(): { firstSeq: number; lastSeq: number };
  pendingAcks(): number;
  /** Replica: rows loaded so far by a running full resync, or null. */
  loadingKeys(): number | null;
}

export interface ReplicationMetrics {
  readonly ackDuration: Histogram<'result'>;
  readonly resyncs: Counter<'type' | 'side'>;
  readonly bytesSent: Counter;
  readonly bytesReceived: Counter;
  readonly fullSyncKeys: Counter<'side'>;
  /** Replica: slices of snapshot rows loaded by full resyncs, each in its own event-loop turn and commit (replicaLoadSliceRows). */
  readonly fullSyncLoadSlices: Counter;
  /** Replica: waits of a full resync's load for the checkpoint worker (walWaitBytes). */
  readonly fullSyncLoadWalWaits: Counter;
  readonly ackTimeouts: Counter;
  readonly fencings: Counter;
  /** Bus peers that failed authentication (bus-server.ts). */
  readonly authRefusals: Counter;
  readonly repairedSlots: Counter<'replica'>;
  /** Rows hashed by digest jobs, advanced after every slice (progress of a running digest). */
  readonly digestRows: Counter;
  /** Times a replica stopped applying streamed entries at its turn budget (replicaApplySliceMs) and went on next turn. */
  readonly applyYields: Counter;
  bind(source: ReplicationGaugeSource): void;
}

const ACK_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createReplicationMetrics(registry: Registry): ReplicationMetrics {
  const r = [registry];
  return {
    ackDuration: new Histogram({
      name: 'irisdb_replication_ack_duration_seconds',
      help: 'Time replies waited for replica acknowledgements after the local commit, by result (ok, timeout)',
      labelNames: ['result'], buckets: ACK_BUCKETS, registers: r,
    }),
    resyncs: new Counter({
      name: 'irisdb_replication_resyncs_total',
      help: 'Resyncs by type (partial: from the log; full: snapshot transfer) and side (primary: served; replica: taken)',
      labelNames: ['type', 'side'], registers: r,
    }),
    bytesSent: new Counter({ name: 'irisdb_replication_sent_bytes_total', help: 'Bytes sent on the cluster bus for replication', registers: r }),
    bytesReceived: new Counter({ name: 'irisdb_replication_received_bytes_total', help: 'Bytes received on the cluster bus for replication', registers: r }),
    fullSyncKeys: new Counter({
      name: 'irisdb_replication_full_sync_keys_total', help: 'Keys transferred by full resyncs (side: primary sent, replica loaded)',
      labelNames: ['side'], registers: r,
    }),
    fullSyncLoadSlices: new Counter({
      name: 'irisdb_replication_full_sync_load_slices_total',
      help: 'Replica: slices of snapshot rows loaded by full resyncs, each in its own event-loop turn and commit (at most --replica-load-slice-rows rows each)',
      registers: r,
    }),
    fullSyncLoadWalWaits: new Counter({
      name: 'irisdb_replication_full_sync_load_wal_waits_total',
      help: 'Replica: times a full resync\'s load waited between slices for the checkpoint worker to copy the WAL (past --wal-wait-bytes), so that the next slice starts the log over',
      registers: r,
    }),
    ackTimeouts: new Counter({ name: 'irisdb_replication_ack_timeouts_total', help: 'Turns of replies failed with NOREPLICAS after ackTimeoutMs', registers: r }),
    repairedSlots: new Counter({
      name: 'irisdb_replication_repaired_slots_total', help: 'Slots found divergent by the periodic digest check and re-copied, by replica',
      labelNames: ['replica'], registers: r,
    }),
    applyYields: new Counter({
      name: 'irisdb_replication_apply_yields_total',
      help: 'Times a replica paused applying streamed log entries at its turn budget (replicaApplySliceMs) to let commands run, and went on in the next event-loop turn',
      registers: r,
    }),
    digestRows: new Counter({ name: 'irisdb_digest_rows_total', help: 'Rows hashed by per-slot digest jobs, counted after every time slice (a running digest advances it)', registers: r }),
    fencings: new Counter({ name: 'irisdb_replication_fenced_total', help: 'Times this primary stopped accepting writes because an authenticated peer reported a newer epoch', registers: r }),
    authRefusals: new Counter({ name: 'irisdb_bus_auth_refused_total', help: 'Cluster-bus connections refused because the peer did not prove it knows the cluster secret', registers: r }),
    bind(source: ReplicationGaugeSource) {
      new Gauge({ name: 'redis_connected_slaves', help: 'Replicas connected to this primary', registers: r, collect() { this.set(source.connectedReplicas()); } });
      new Gauge({ name: 'redis_master_repl_offset', help: 'Replication offset: the last committed sequence', registers: r, collect() { this.set(source.lastSeq()); } });
      new Gauge({ name: 'irisdb_replication_epoch', help: 'Shard epoch this node knows', registers: r, collect() { this.set(source.epoch()); } });
      new Gauge({
        name: 'irisdb_replication_role', help: '1 for the role this node has (primary or replica)', labelNames: ['role'], registers: r,
        collect() {
          const role = source.role();
          this.set({ role: 'primary' }, role === 'primary' ? 1 : 0);
          this.set({ role: 'replica' }, role === 'replica' ? 1 : 0);
        },
      });
      new Gauge({
        name: 'redis_connected_slave_lag_seconds', help: 'How long the oldest write a replica has not acknowledged has waited', labelNames: ['replica', 'state'], registers: r,
        collect() {
          this.reset();
          for (const s of source.replicaLag()) this.set({ replica: s.name, state: s.state }, s.lagMs / 1000);
        },
      });
      new Gauge({
        name: 'irisdb_replication_replica_lag_operations', help: 'Operations a replica is behind its primary', labelNames: ['replica'], registers: r,
        collect() {
          this.reset();
          for (const s of source.replicaLag()) this.set({ replica: s.name }, s.lagOps);
        },
      });
      new Gauge({
        name: 'irisdb_replication_backlog_sequence', help: 'First and last sequence kept in the replication log', labelNames: ['end'], registers: r,
        collect() {
          const b = source.backlog();
          this.set({ end: 'first' }, b.firstSeq);
          this.set({ end: 'last' }, b.lastSeq);
        },
      });
      new Gauge({ name: 'irisdb_replication_pending_acks', help: 'Turns of replies waiting for replica acknowledgements', registers: r, collect() { this.set(source.pendingAcks()); } });
      new Gauge({
        name: 'irisdb_replication_loading_keys', help: 'Replica: keys loaded so far by the running full resync (0 when none)', registers: r,
        collect() { this.set(source.loadingKeys() ?? 0); },
      });
    },
  };
}

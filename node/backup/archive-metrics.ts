/**
 * Metrics of the replication-log archiver (docs/backup.md): how far the
 * archive is behind this primary's log, in sequences and in seconds, when
 * it last stored a segment, and the gaps it had to leave.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ArchiveMetrics {
  readonly lagSequences: Gauge;
  readonly lagSeconds: Gauge;
  readonly lastArchived: Gauge;
  readonly segments: Counter;
  readonly bytes: Counter;
  readonly uploadFailures: Counter;
  readonly gaps: Counter;
}

export function createArchiveMetrics(registry: Registry): ArchiveMetrics {
  const r = [registry];
  return {
    lagSequences: new Gauge({ name: 'irisdb_archive_lag_sequences', help: 'Log sequences this primary committed that the archive does not hold yet', registers: r }),
    lagSeconds: new Gauge({ name: 'irisdb_archive_lag_seconds', help: 'Age of the oldest commit the archive does not hold yet (0: caught up)', registers: r }),
    lastArchived: new Gauge({ name: 'irisdb_archive_last_archived_timestamp_seconds', help: 'Commit time of the newest batch in the archive stored by this node (Unix seconds; 0: none yet)', registers: r }),
    segments: new Counter({ name: 'irisdb_archive_segments_total', help: 'Log segments this node stored in the archive', registers: r }),
    bytes: new Counter({ name: 'irisdb_archive_bytes_total', help: 'Bytes of log segments this node stored in the archive', registers: r }),
    uploadFailures: new Counter({ name: 'irisdb_archive_upload_failures_total', help: 'Segment uploads that failed (retried)', registers: r }),
    gaps: new Counter({ name: 'irisdb_archive_gaps_total', help: 'Times the archive had to skip log it never stored (fell too far behind): restores from older backups stop there', registers: r }),
  };
}

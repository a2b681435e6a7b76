/**
 * Metrics of the replication-log archiver (docs/backup.md): how far the
 * archive is behind this primary's log, in sequences and in seconds, when
 * it last stored a segment, and the gaps it had to leave. The two lag
 * gauges are computed when scraped (from the log's head and what the
 * archive holds), not when the archiver runs: set by the archiver, they
 * read 0 right after a write the archive does not hold yet.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** How far the archive is behind this node's log right now. */
export interface ArchiveLag {
  readonly sequences: number;
  readonly seconds: number;
}

export interface ArchiveMetrics {
  readonly lastArchived: Gauge;
  readonly segments: Counter;
  readonly bytes: Counter;
  readonly uploadFailures: Counter;
  readonly gaps: Counter;
}

/** `lag` is asked at each scrape (the archiver's LogArchiver.lag). */
export function createArchiveMetrics(registry: Registry, lag: () => ArchiveLag): ArchiveMetrics {
  const r = [registry];
  new Gauge({
    name: 'irisdb_archive_lag_sequences', help: 'Log sequences this primary committed that the archive does not hold yet', registers: r,
    collect() {
      this.set(lag().sequences);
    },
  });
  new Gauge({
    name: 'irisdb_archive_lag_seconds', help: 'Age of the oldest commit the archive does not hold yet (0: caught up)', registers: r,
    collect() {
      this.set(lag().seconds);
    },
  });
  return {
    lastArchived: new Gauge({ name: 'irisdb_archive_last_archived_timestamp_seconds', help: 'Commit time of the newest batch in the archive stored by this node (Unix seconds; 0: none yet)', registers: r }),
    segments: new Counter({ name: 'irisdb_archive_segments_total', help: 'Log segments this node stored in the archive', registers: r }),
    bytes: new Counter({ name: 'irisdb_archive_bytes_total', help: 'Bytes of log segments this node stored in the archive', registers: r }),
    uploadFailures: new Counter({ name: 'irisdb_archive_upload_failures_total', help: 'Segment uploads that failed (retried)', registers: r }),
    gaps: new Counter({ name: 'irisdb_archive_gaps_total', help: 'Times the archive had to skip log it never stored (fell too far behind): restores from older backups stop there', registers: r }),
  };
}

/**
 * Backup metrics of a node: snapshot jobs by result, keys and bytes written
 * to destinations, whether a job is running, and when one last completed
 * (an alert on its age catches backups that silently stopped).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface BackupMetrics {
  readonly runs: Counter<'result'>;
  readonly keys: Counter;
  readonly bytes: Counter;
  readonly running: Gauge;
  readonly lastSuccess: Gauge;
}

export function createBackupMetrics(registry: Registry): BackupMetrics {
  const r = [registry];
  return {
    runs: new Counter({ name: 'irisdb_backup_snapshots_total', help: 'Shard snapshot jobs this node ran for backups, by result (completed, failed)', labelNames: ['result'], registers: r }),
    keys: new Counter({ name: 'irisdb_backup_keys_total', help: 'Keys written to backup destinations by this node', registers: r }),
    bytes: new Counter({ name: 'irisdb_backup_bytes_total', help: 'Bytes (compressed chunks) written to backup destinations by this node', registers: r }),
    running: new Gauge({ name: 'irisdb_backup_running', help: '1 while this node takes a backup snapshot', registers: r }),
    lastSuccess: new Gauge({ name: 'irisdb_backup_last_success_timestamp_seconds', help: 'When this node last completed a backup snapshot (Unix seconds; 0: never since it started)', registers: r }),
  };
}

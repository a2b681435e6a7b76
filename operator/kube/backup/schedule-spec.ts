/**
 * spec.backup as the core's schedule (operator/core/backup-schedule.ts):
 * the CronJob macros (@daily …) the CRD accepts, spelled as the five-field
 * expressions the core parses, and the retention. Pure.
 */
import { DEFAULT_RETENTION, type ClusterBackupSpec } from './iris-backup.js';

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

export function cronOf(schedule: string): string {
  const t = schedule.trim();
  return MACROS[t] ?? t;
}

export function scheduleOf(b: ClusterBackupSpec, destinationUrl: string): { cron: string; destination: string; keep: number } {
  return { cron: cronOf(b.schedule), destination: destinationUrl, keep: b.retention ?? DEFAULT_RETENTION };
}

/** The audit log's counters, for the node's and the controller's /metrics. */
import { Counter, type Registry } from 'prom-client';
import type { AuditLogCounters } from './file-log.js';

export function auditLogCounters(registry: Registry): AuditLogCounters {
  const written = new Counter({ name: 'irisdb_audit_records_total', help: 'Records appended to the audit log', registers: [registry] });
  const failed = new Counter({ name: 'irisdb_audit_write_failures_total', help: 'Audit records that could not be written (the next record shows the gap: verify fails there)', registers: [registry] });
  return { written: () => written.inc(), failed: () => failed.inc() };
}

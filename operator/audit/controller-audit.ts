/** The local controller's audit log: DIR/audit/controller.log, beside each node's DIR/audit/<node>.log. */
import path from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import { AuditFileLog } from '../../common/audit/file-log.js';
import { auditLogCounters } from '../../common/audit/metrics.js';

/** Where the local cluster in `dir` keeps the audit log of `source` (a node name or "controller"). */
export function localAuditFile(dir: string, source: string): string {
  return path.join(path.resolve(dir), 'audit', `${source}.log`);
}

export function openControllerAudit(dir: string, registry: Registry, logger: Logger): AuditFileLog {
  const file = localAuditFile(dir, 'controller');
  return new AuditFileLog({
    path: file, source: 'controller', counters: auditLogCounters(registry),
    onWriteError: (err) => logger.error('audit record not written; the audit chain will show a gap here', { file, err: err.message }),
  });
}

/**
 * The controller's audit records (docs/security.md "Audit log"): every
 * control API request that changes something (failover, switchover,
 * scale, rebalance, restart, backups, restores) with its outcome, and
 * every request refused for a wrong or missing token. Reads (GET /status)
 * are not recorded: irisctl and the dashboard poll them.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditSink } from '../../common/audit/sink.js';
import { bodySummary } from '../../common/audit/body-summary.js';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Mounted first: records when the response ends, so the outcome is known. */
export function auditControlRequests(audit: AuditSink): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const path = req.originalUrl.split('?')[0]!;
    res.once('finish', () => {
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
      if (res.statusCode === 401) {
        audit.record({ event: 'auth', user: null, remote, outcome: 'failure', detail: { via: 'control API', method: req.method, path } });
      } else if (!READS.has(req.method)) {
        const body = bodySummary(req.body as unknown);
        audit.record({
          event: 'control', user: 'cluster-token', remote, outcome: res.statusCode < 400 ? 'success' : 'failure',
          detail: { method: req.method, path, status: res.statusCode, ...(body !== undefined ? { body } : {}) },
        });
      }
    });
    next();
  };
}

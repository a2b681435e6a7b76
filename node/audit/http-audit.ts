/**
 * Audit records of the node's HTTP side: authentication of the /v1 API
 * (once per connection on success, every failure) and every /admin
 * request that changes something (with its outcome) or fails the token.
 */
import type { Socket } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditOutcome } from '../../common/audit/chain.js';
import type { AuditSink } from '../../common/audit/sink.js';
import { bodySummary } from '../../common/audit/body-summary.js';

export function remoteOf(req: Request): string {
  return `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
}

/** An HTTP authentication: failures always; a success once per connection (`known` holds the sockets seen). */
export function auditHttpAuth(audit: AuditSink | undefined, req: Request, user: string, outcome: AuditOutcome, known: WeakSet<Socket>): void {
  if (audit === undefined || (outcome === 'success' && known.has(req.socket))) return;
  audit.record({ event: 'auth', user, remote: remoteOf(req), outcome, detail: { via: 'http', method: req.method, path: req.path } });
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** In front of the admin token check: records refused tokens and, when it ends, every changing /admin request. */
export function auditAdminRequests(audit: AuditSink | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (audit !== undefined) {
      const path = req.originalUrl.split('?')[0]!;
      res.once('finish', () => {
        if (res.statusCode === 401) {
          audit.record({ event: 'auth', user: null, remote: remoteOf(req), outcome: 'failure', detail: { via: 'admin', method: req.method, path } });
        } else if (!READS.has(req.method)) {
          const body = bodySummary(req.body as unknown);
          audit.record({
            event: 'admin', user: 'admin-token', remote: remoteOf(req), outcome: res.statusCode < 400 ? 'success' : 'failure',
            detail: { method: req.method, path, status: res.statusCode, ...(body !== undefined ? { body } : {}) },
          });
        }
      });
    }
    next();
  };
}

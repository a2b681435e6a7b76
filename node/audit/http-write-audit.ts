/**
 * `--audit-writes` for the HTTP API (PUT/DELETE /v1/kv/{key}, POST
 * /v1/kv:batch, PUT /v1/kv:import): one record per request that writes,
 * with its user, address, outcome (status) and the key names it writes —
 * never values. Registered once the request is routed to this node, so a
 * request forwarded to the key's primary is recorded there only, once.
 */
import type { Request, Response } from 'express';
import type { AuditSink } from '../../common/audit/sink.js';
import { remoteOf } from './http-audit.js';

/** Key names shown in one record (an import body may hold thousands): the count is always there. */
export const MAX_AUDITED_KEYS = 100;
const MAX_KEY_SHOWN_BYTES = 200;

const keyText = (k: Buffer): string => {
  const s = k.subarray(0, MAX_KEY_SHOWN_BYTES).toString('utf8');
  return k.length > MAX_KEY_SHOWN_BYTES ? `${s}…` : s;
};

/** The detail of a write record: pure, so what is (and is not) recorded is unit-tested on plain data. */
export function httpWriteDetail(method: string, path: string, command: string, keys: readonly Buffer[], status: number): Record<string, unknown> {
  const shown = keys.slice(0, MAX_AUDITED_KEYS).map(keyText);
  return {
    via: 'http', method, path: path.startsWith('/v1/kv/') ? '/v1/kv/{key}' : path, command, status,
    ...(keys.length === 1 ? { key: shown[0] } : { keys: shown, keyCount: keys.length }),
  };
}

export interface HttpWriteAuditing {
  readonly audit?: AuditSink;
  readonly config: { readonly auditWrites: boolean };
}

/**
 * Records the write when the response finishes (success below 400), if --audit-writes is on.
 * `keysOf` is only called then: with auditing off a batch or an import builds no key list.
 */
export function auditHttpWrite(deps: HttpWriteAuditing, req: Request, res: Response, user: string, command: string, keysOf: () => readonly Buffer[]): void {
  const audit = deps.audit;
  if (audit === undefined || !deps.config.auditWrites) return;
  const keys = keysOf();
  const path = req.originalUrl.split('?')[0]!;
  res.once('finish', () => {
    audit.record({
      event: 'write', user, remote: remoteOf(req), outcome: res.statusCode < 400 ? 'success' : 'failure',
      detail: httpWriteDetail(req.method, path, command, keys, res.statusCode),
    });
  });
}

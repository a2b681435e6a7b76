/**
 * HTTP authentication with the RESP password (--require-pass): the same
 * identity as AUTH, Redis's user "default". Accepted as
 * `Authorization: Basic base64(default:<password>)` or
 * `Authorization: Bearer <password>`, compared in constant time
 * (server/password.ts, shared with RESP AUTH).
 */
import type { Socket } from 'node:net';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DEFAULT_USER, passwordMatches } from '../server/password.js';
import { HttpError } from './errors.js';
import type { AuditSink } from '../../common/audit/sink.js';
import { auditHttpAuth } from '../audit/http-audit.js';

/** The user and password an Authorization header carries; null when absent, malformed or another scheme. */
export function parseAuthorization(header: string | undefined): { user: string; pass: Buffer } | null {
  if (header === undefined) return null;
  const m = /^([A-Za-z]+) +(\S+) *$/.exec(header);
  if (m === null) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return { user: DEFAULT_USER, pass: Buffer.from(m[2]!, 'utf8') };
  if (scheme !== 'basic' || !/^[A-Za-z0-9+/]+={0,2}$/.test(m[2]!)) return null;
  const decoded = Buffer.from(m[2]!, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return null;
  return { user: decoded.subarray(0, colon).toString('utf8'), pass: decoded.subarray(colon + 1) };
}

/** Whether the header authenticates as "default" with `password` (non-empty). */
export function credentialsMatch(header: string | undefined, password: string): boolean {
  const creds = parseAuthorization(header);
  const passOk = passwordMatches(password, creds?.pass ?? Buffer.alloc(0));
  return creds !== null && creds.user === DEFAULT_USER && passOk;
}

/** Sockets that have carried an authenticated request (the unauthenticated-connection timeout spares them). */
export type AuthenticatedSockets = WeakSet<Socket>;

/** 401 unless the request authenticates; marks its socket as authenticated. */
export function clientAuth(password: string, authenticated: AuthenticatedSockets, audit?: AuditSink): RequestHandler {
  if (password === '') throw new RangeError('clientAuth needs a non-empty password (an empty requirePass means no authentication)');
  return (req: Request, res: Response, next: NextFunction) => {
    if (!credentialsMatch(req.get('authorization'), password)) {
      auditHttpAuth(audit, req, parseAuthorization(req.get('authorization'))?.user ?? DEFAULT_USER, 'failure', authenticated);
      // The connection goes with the answer: an unauthenticated client keeps no socket open.
      res.set('Connection', 'close');
      throw new HttpError(401, 'unauthorized', 'authentication required: Authorization: Basic (user "default", the requirePass password) or Bearer <password>', undefined, {
        'WWW-Authenticate': 'Basic realm="irisdb", charset="UTF-8", Bearer realm="irisdb"',
      });
    }
    auditHttpAuth(audit, req, DEFAULT_USER, 'success', authenticated);
    authenticated.add(req.socket);
    next();
  };
}

/**
 * The admin API's bearer-token check, one middleware in front of every
 * /admin router. Constant-time comparison, so the token cannot be guessed
 * byte by byte from response times.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from './errors.js';

/**
 * res.locals key under which the app hands the admin routers its set of
 * authenticated sockets (client-auth.ts AuthenticatedSockets): a socket
 * that carried the admin token is authenticated, so createHttpServer's
 * unauthenticated-connection timeout spares the operator's keep-alive
 * connections.
 */
export const AUTHENTICATED_SOCKETS_LOCAL = 'irisAuthenticatedSockets';

export function adminAuth(token: string): RequestHandler {
  if (token === '') throw new RangeError('adminAuth needs a non-empty token (an empty one disables the admin API)');
  const expected = Buffer.from(`Bearer ${token}`);
  return (req: Request, res: Response, next: NextFunction) => {
    const got = Buffer.from(req.get('authorization') ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new HttpError(401, 'unauthorized', 'the admin API needs Authorization: Bearer <adminToken>', undefined, { 'WWW-Authenticate': 'Bearer' });
    }
    const sockets: unknown = res.locals[AUTHENTICATED_SOCKETS_LOCAL];
    if (sockets instanceof WeakSet) sockets.add(req.socket);
    next();
  };
}

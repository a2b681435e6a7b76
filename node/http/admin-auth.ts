/**
 * The admin API's bearer-token check, one middleware in front of every
 * /admin router. Constant-time comparison, so the token cannot be guessed
 * byte by byte from response times.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from './errors.js';

export function adminAuth(token: string): RequestHandler {
  if (token === '') throw new RangeError('adminAuth needs a non-empty token (an empty one disables the admin API)');
  const expected = Buffer.from(`Bearer ${token}`);
  return (req: Request, _res: Response, next: NextFunction) => {
    const got = Buffer.from(req.get('authorization') ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new HttpError(401, 'unauthorized', 'the admin API needs Authorization: Bearer <adminToken>', undefined, { 'WWW-Authenticate': 'Bearer' });
    }
    next();
  };
}
